"""The engine simulation and the catch-up property (issue 12), on SQLite and PostgreSQL.

`LANGGANAN_SIM_EXAMPLES` (default 6 per backend) and `LANGGANAN_SIM_STEPS` (default 30) run it longer
for a soak; `LANGGANAN_SIM_SEED` picks a random seed instead of CI's fixed one. A failure prints the
steps that lead to it (hypothesis shrinks them), which replay the same way.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from langganan.kit.db import Database
from tests.simulation.machine import for_database

EXAMPLES = int(os.environ.get("LANGGANAN_SIM_EXAMPLES", "6"))
STEPS = int(os.environ.get("LANGGANAN_SIM_STEPS", "30"))
SEED = os.environ.get("LANGGANAN_SIM_SEED")
SHRINK = os.environ.get("LANGGANAN_SIM_SHRINK", "1") != "0"  # 0: report the first failure as found, unshrunk


def sim_settings() -> settings:
    return settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                    derandomize=SEED is None, suppress_health_check=list(HealthCheck), print_blob=True,
                    phases=list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate])


def test_the_engine_keeps_its_books_and_agrees_with_the_model(database: Database) -> None:
    machine = for_database(database)
    if SEED is not None:
        from hypothesis import seed

        machine.TestCase = seed(int(SEED))(machine.TestCase)  # type: ignore[misc]
    run_state_machine_as_test(machine, settings=sim_settings())
