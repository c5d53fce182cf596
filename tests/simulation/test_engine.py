"""The engine simulation and the catch-up property (issue 12), on SQLite and PostgreSQL.

`LANGGANAN_SIM_EXAMPLES` (default 6 per backend) and `LANGGANAN_SIM_STEPS` (default 30) run it longer
for a soak; `LANGGANAN_SIM_RANDOM=1` draws new examples each run instead of CI's fixed ones. A failure
prints the steps that lead to it (hypothesis shrinks them; `LANGGANAN_SIM_SHRINK=0` reports the first as
found) and a `@reproduce_failure(...)` line that replays it exactly.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from langganan.kit.db import Database
from tests.simulation.machine import for_database

EXAMPLES = int(os.environ.get("LANGGANAN_SIM_EXAMPLES", "6"))
STEPS = int(os.environ.get("LANGGANAN_SIM_STEPS", "30"))
RANDOM = os.environ.get("LANGGANAN_SIM_RANDOM") == "1"
SHRINK = os.environ.get("LANGGANAN_SIM_SHRINK", "1") != "0"  # 0: report the first failure as found, unshrunk


def sim_settings() -> settings:
    return settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                    derandomize=not RANDOM, suppress_health_check=list(HealthCheck), print_blob=True,
                    phases=list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate])


def test_the_engine_keeps_its_books_and_agrees_with_the_model(database: Database) -> None:
    run_state_machine_as_test(for_database(database), settings=sim_settings())
