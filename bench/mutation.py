"""Mutation testing of the pure money and time rules (issue 12, section 4). See bench/README.md.

mutmut (pinned in the dev dependencies, configured in pyproject's [tool.mutmut]) changes the rule modules one
small edit at a time and runs the unit tests (tests/unit, no database) against each change; a change the tests
notice is *killed*. This script runs it and prints the score per file and in all:

* killed / total;
* killed / (total - excluded), where excluded are the mutants listed in EXCLUDED below, each with the reason it
  cannot change a result (message wording, an equivalent rewrite). A mutant is excluded only by its own entry.

    .venv/bin/python bench/mutation.py                 # a fresh run (deletes mutants/), then the score
    .venv/bin/python bench/mutation.py --report        # the score of the last run, without running
    .venv/bin/python bench/mutation.py --fail-under 95 # exit 1 below 95% (or when an exclusion is stale)

Every surviving mutant is printed with the line it changes. The run leaves mutmut's work in mutants/
(git-ignored): `.venv/bin/mutmut show <name>` prints a mutant's diff, `.venv/bin/mutmut apply <name>` writes it
into the source tree (commit first).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code): 1 and 3 a test failed, 0 every test passed,
# 33/5 no test reaches the function, 36 and the signals the tests ran out of time (an endless loop).
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}

# (function, a fragment of the mutated line(s) that names the mutant, why it cannot change a result).
# The function is mutmut's name for it: module + "x_" + name, methods as "xǁClassǁmethod".
# An entry that matches no mutant, or more than one, is reported as stale and excludes nothing.
MONEY, PERIODS = "langganan.kit.money.x", "langganan.kit.periods.x"
SUBS, PROMOS, LEGACY = "langganan.subscriptions.rules.x", "langganan.promotions.rules.x", "langganan.legacy.rules.x"
INVOICES = "langganan.invoices.rules.x"
EXCLUDED: list[tuple[str, str, str]] = [
    (MONEY + "_round_half_up", "if value > 0:", "equivalent: at 0 both branches give 0"),
    (MONEY + "_prorate", "ValueError(None)", "wording of a programming error (a period of no days)"),
    (MONEY + "_prorate", '"XXdenominator must be positiveXX"', "wording of a programming error"),
    (MONEY + "_prorate", '"DENOMINATOR MUST BE POSITIVE"', "wording of a programming error"),
    (MONEY + "_parse_percent_to_bps", "rounding=None", "equivalent: the value is already whole (checked above)"),
    (MONEY + "_parse_percent_to_bps", "quantize(Decimal(1), )", "equivalent: the value is already whole"),
    (MONEY + "_parse_percent_to_bps", "quantize(Decimal(2),", "equivalent: Decimal(2) has the exponent of 1"),
    (MONEY + "_format_money", "CURRENCY_EXPONENTS.get(None, 2)",
     "equivalent: every currency of the table but IDR (formatted above) has the default exponent 2"),
    (MONEY + "_format_money", 'locale="id_id"', "equivalent: Babel reads locale names without regard to case"),
    (MONEY + "_format_money", 'locale="ID_ID"', "equivalent: Babel reads locale names without regard to case"),
    (MONEY + "_format_money", '"en_us"))', "equivalent: Babel reads locale names without regard to case"),
    (MONEY + "_format_money", '"EN_US"))', "equivalent: Babel reads locale names without regard to case"),
    (PERIODS + "_add_months_anchored", "day=day, )", "equivalent: `local` is already in the zone"),
    (PERIODS + "_nth_period", "(n) or True", "equivalent: the anchor plus 0 months on its own day is the anchor"),
    (SUBS + "_require_billing_info", "purchase.\", )", "equivalent: param defaults to None"),
    (SUBS + "_classify", "target.rank >= cur.plan.rank",
     "equivalent: plan ranks are distinct (catalog.rules refuses a catalog with equal ranks), and an equal rank "
     "(the same plan) on another interval was decided above"),
    (PROMOS + "_discount", "price < 0:", "equivalent: a discount on a price of 0 is capped at 0 anyway"),
    (LEGACY + "_anniversary_period", "INTERVAL_MONTHS[interval] - 2)",
     "equivalent: the search starts one cycle earlier and steps to the same cycle"),
    (LEGACY + "_allotment_start", "while n >= 0:",
     "equivalent for its one caller: a cycle starts on its anchor day, so the candidate 0 months on is the start"),
    (INVOICES + "_content_digest", 'f"{type(None).__name__}', "wording of a programming error (not content)"),
    (INVOICES + "_content_digest", "ensure_ascii=None", "equivalent: None is false, as False is"),
]


@dataclass
class Mutant:
    key: str  # e.g. langganan.kit.money.x_prorate__mutmut_3
    path: str  # the source file
    exit_code: int | None
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    excluded: str | None = None  # the reason, when an EXCLUDED entry names it

    @property
    def function(self) -> str:
        return self.key.rsplit("__mutmut_", 1)[0]

    @property
    def status(self) -> str:
        if self.exit_code in KILLED or self.exit_code in TIMEOUT:
            return "killed"
        if self.exit_code in SURVIVED:
            return "survived"
        if self.exit_code in NO_TESTS:
            return "no tests"
        return "not checked" if self.exit_code is None else f"other ({self.exit_code})"


def files_to_mutate() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    return list(config["only_mutate"])


def run_mutmut(max_children: int) -> float:
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    proc = subprocess.run([str(mutmut), "run", "--max-children", str(max_children)], cwd=ROOT, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"mutmut run failed (exit code {proc.returncode})")
    (ROOT / "mutants" / "duration.json").write_text(json.dumps({"seconds": elapsed, "max_children": max_children}))
    return elapsed


def load(path: str) -> list[Mutant]:
    """The mutants of one file with their outcome and the lines each one changes."""
    mutated = ROOT / "mutants" / path
    meta = json.loads(Path(f"{mutated}.meta").read_text(encoding="utf-8"))
    spans = json.loads(Path(f"{mutated}.spans").read_text(encoding="utf-8"))["spans"]
    lines = mutated.read_text(encoding="utf-8").splitlines()
    module = path.removeprefix("src/").removesuffix(".py").replace("/", ".")

    def text(name: str) -> list[str]:
        start, end = spans[name]  # 1-based, inclusive: the function with its def line
        return [line.strip().replace(name, "") for line in lines[start - 1:end] if line.strip()]

    out = []
    for key, code in meta["exit_code_by_key"].items():
        name = key.removeprefix(module + ".")
        orig = name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
        m = Mutant(key=key, path=path, exit_code=code)
        diff = difflib.ndiff(text(orig), text(name))
        for d in diff:
            if d.startswith("- "):
                m.removed.append(d[2:])
            elif d.startswith("+ "):
                m.added.append(d[2:])
        out.append(m)
    return out


def apply_exclusions(mutants: list[Mutant]) -> list[str]:
    """Mark the excluded mutants; returns the problems with the list (stale or ambiguous entries)."""
    problems = []
    by_function: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_function[m.function].append(m)
    for function, fragment, reason in EXCLUDED:
        hits = [m for m in by_function.get(function, [])
                if any(fragment in line for line in m.added) and not any(fragment in line for line in m.removed)]
        if len(hits) != 1:
            problems.append(f"EXCLUDED entry ({function!r}, {fragment!r}) matches {len(hits)} mutants; it excludes "
                            "nothing (update it to the code)")
            continue
        hits[0].excluded = reason
    return problems


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def report(mutants: list[Mutant], files: list[str], problems: list[str], duration: dict[str, float] | None) -> float:
    rows = []
    for path in [*files, None]:
        ms = [m for m in mutants if path is None or m.path == path]
        total = len(ms)
        killed = sum(m.status == "killed" for m in ms)
        excluded = sum(m.excluded is not None for m in ms)
        killed_counted = sum(m.status == "killed" and m.excluded is None for m in ms)
        rows.append((path.removeprefix("src/langganan/") if path else "all", total, killed,
                     sum(m.status == "survived" for m in ms), sum(m.status == "no tests" for m in ms),
                     sum(m.exit_code in TIMEOUT for m in ms), excluded, pct(killed, total),
                     pct(killed_counted, total - excluded), killed_counted, total - excluded))
    survivors = [m for m in mutants if m.status != "killed" and m.excluded is None]
    if survivors:
        print("\nNot killed (and not excluded):")
        for m in survivors:
            change = " / ".join(m.added) or "(a line removed: " + " / ".join(m.removed) + ")"
            print(f"  {m.status:9} {m.key.removeprefix('langganan.')}: {change}")
    print()
    header = ("file", "mutants", "killed", "survived", "no tests", "timeout", "excluded", "killed/total",
              "killed/(total-excl)")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        if r is rows[-1]:
            print("  ".join("-" * w for w in widths))
        cells = [str(v).ljust(w) if i == 0 else str(v).rjust(w)
                 for i, (v, w) in enumerate(zip(r[:len(header)], widths, strict=True))]
        print("  ".join(cells))
    total_row = rows[-1]
    score = 100 * total_row[9] / total_row[10] if total_row[10] else 0.0
    print(f"\nMutation score: {total_row[2]}/{total_row[1]} killed ({total_row[7].strip()}); "
          f"{total_row[9]}/{total_row[10]} of the mutants that can change a result ({score:.1f}%).")
    if duration:
        print(f"mutmut ran for {duration['seconds'] / 60:.1f} min with {int(duration['max_children'])} workers "
              f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores).")
    for p in problems:
        print(f"WARNING: {p}")
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="print the score of the last run without running")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel mutant workers")
    parser.add_argument("--fail-under", type=float, default=None,
                        help="exit 1 when killed / (total - excluded) is below this percentage")
    args = parser.parse_args()
    os.chdir(ROOT)
    if not args.report:
        run_mutmut(args.max_children)
    elif not (ROOT / "mutants").is_dir():
        sys.exit("no mutants/ directory: run without --report first")
    files = files_to_mutate()
    mutants = [m for path in files for m in load(path)]
    problems = apply_exclusions(mutants)
    duration_file = ROOT / "mutants" / "duration.json"
    duration = json.loads(duration_file.read_text()) if duration_file.exists() else None
    score = report(mutants, files, problems, duration)
    if args.fail_under is not None and (score < args.fail_under or problems):
        sys.exit(1)  # (a stale exclusion fails too: the list no longer describes the code)


if __name__ == "__main__":
    main()
