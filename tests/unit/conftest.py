"""Unit tests: no database. The mutation run (bench/mutation.py) loads the `mutation` profile, so every
mutant meets the same hypothesis examples, no example saved while killing one mutant is replayed against
the next, and a slow moment of a busy machine is not taken for a kill: the score is the same on every run."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("mutation", derandomize=True, database=None, deadline=None)
