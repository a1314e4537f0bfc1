"""Run every real-world corpus case and print one line per case, to re-triage quickly.

    .venv/bin/python tests/realworld/triage.py              # all cases
    .venv/bin/python tests/realworld/triage.py ws- awx      # cases whose name contains any word
    .venv/bin/python tests/realworld/triage.py -v ws-facts  # and each failure's details

Columns: the case, what cases.yml expects (pass, or xfail and why), then the verdict of
each phase (check = ``corral check``, --check = ``corral run --check``, real = the real run
compared with ansible-playbook; ``-`` = not run) and the first problem. A final line counts
the cases that pass and those whose verdict disagrees with cases.yml (to flip or fix).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Outcome, load_cases, run_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", help="only cases whose name contains one")
    parser.add_argument("-v", "--verbose", action="store_true", help="print failure details")
    parser.add_argument("-j", "--jobs", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args(argv)
    cases = [c for c in load_cases() if not args.words or any(w in c.name for w in args.words)]
    with tempfile.TemporaryDirectory(prefix="corral-realworld-") as tmp:
        outcomes = run_all(cases, Path(tmp), args.jobs)
    width = max((len(c.name) for c in cases), default=4)
    print(f"{'case':{width}}  {'expect':28}  check  --check  real  first problem")
    surprises = 0
    for outcome in outcomes:
        print(_line(outcome, width))
        if args.verbose and outcome.details:
            for detail in "\n".join(outcome.details).splitlines():
                print("    " + detail[:400])
        if not outcome.skipped:
            surprises += outcome.passed != (outcome.case.expect == "pass")
    passed = sum(o.passed for o in outcomes)
    print(f"\n{passed}/{len(outcomes)} pass; {surprises} differ from cases.yml's expect")
    return 1 if surprises else 0


def _line(outcome: Outcome, width: int) -> str:
    case = outcome.case
    expect = case.expect if case.expect == "pass" else f"xfail: {case.reason}"
    problem = outcome.problems[0] if outcome.problems else ""
    if outcome.skipped:
        return f"{case.name:{width}}  {'skipped':28}  {outcome.skipped}"
    mark = "" if outcome.passed == (case.expect == "pass") else " <-- differs from expect"
    return (
        f"{case.name:{width}}  {expect[:28]:28}  {outcome.check:5}  {outcome.check_mode:7}  "
        f"{outcome.real:4}  {problem[:160]}{mark}"
    )


if __name__ == "__main__":
    sys.exit(main())
