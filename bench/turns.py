"""Compare trees: bench_engine.py in each tree in turn, then each row's median and range.

    python3 bench/turns.py 5 /path/to/old-tree /path/to/new-tree

Each tree is a checkout with its own ``.venv`` (compile its bytecode first:
``.venv/bin/python -m compileall -q core plugins``). Taking turns spreads a busy moment
of the machine over all trees instead of one.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
from pathlib import Path

ROW = re.compile(r"^\| (corral[^|]*?) \| ([0-9.]+) \| ([0-9]+) \|", re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("turns", type=int)
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--hosts", type=int, default=1000)
    args = parser.parse_args()
    rows: dict[tuple[str, Path], list[tuple[float, int]]] = {}
    for turn in range(args.turns):
        for tree in args.trees:
            argv = [str(tree / ".venv/bin/python"), str(tree / "bench/bench_engine.py")]
            argv += ["--hosts", str(args.hosts), "--repeat", "1", "--skip-ansible"]
            out = subprocess.run(argv, cwd=tree, capture_output=True, text=True, check=True)
            for name, seconds, rss in ROW.findall(out.stdout):
                rows.setdefault((name, tree), []).append((float(seconds), int(rss)))
            print(f"turn {turn + 1}: {tree} done", flush=True)
    for (name, tree), values in sorted(rows.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        times = [v[0] for v in values]
        rss = statistics.median(v[1] for v in values)
        print(
            f"{name:26s} {tree}: median {statistics.median(times):.3f} s "
            f"({min(times):.3f}-{max(times):.3f}), peak RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    main()
