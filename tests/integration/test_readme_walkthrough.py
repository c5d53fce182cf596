"""The README's walk-through ("Calling it"), run as written against a real server: its shell block with the
admin key and address filled in, under `bash -e -o pipefail`, so a step that fails (a placeholder left in a
request, an error answer) stops it instead of passing silently; then the state it promises is checked."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from langganan.app import create_app, prepare
from tests.conftest import ADMIN_KEY, Env, make_settings
from tests.served_support import serving, sqlite_copy

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Calling it"):]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "the README has no shell block under 'Calling it'"
    return found.group(1)


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Env, str]]:
    db = sqlite_copy(tmp_path, sqlite_template, "walkthrough.db")
    settings = make_settings(db)
    prepare(settings, db, migrate_if_empty=False)
    app = create_app(settings, db)
    with serving(app) as url, TestClient(app) as client:
        yield Env(db=db, settings=settings, client=client, headers={"Authorization": f"Bearer {ADMIN_KEY}"}), url
    db.dispose()


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_readme_walkthrough_runs_as_written(served: tuple[Env, str]) -> None:
    env, base = served
    script = walkthrough()
    assert re.search(r"^KEY=\S+", script, re.M) and "API=http://127.0.0.1:8000" in script
    filled = re.sub(r"^KEY=\S+", f"KEY={ADMIN_KEY}", script, count=1, flags=re.M)
    filled = filled.replace("API=http://127.0.0.1:8000", f"API={base}")
    done = run(filled)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    assert '"outcome":"applied"' in done.stdout.replace(" ", "")
    [account] = env.ok(env.get("/v1/accounts?limit=10"))["data"]
    [invoice] = env.ok(env.get(f"/v1/invoices?account_id={account['id']}&type=subscription"))["data"]
    assert (invoice["status"], invoice["total"]) == ("paid", 499_000)
    assert env.subscription(account["id"])["plan"] == "growth"
    assert env.ok(env.get(f"/v1/invoices?account_id={account['id']}&type=renewal"))["data"]  # a month went by
    env.assert_books()

    # the same block with the key left as written fails at its first call, loudly
    left = run(filled.replace(f"KEY={ADMIN_KEY}", "KEY=lgn_..."))
    assert left.returncode != 0 and "401" in left.stderr + left.stdout
