"""`newswatch --help` (and `newswatch topics check`) start-up, as a whole process, next to
another checkout of the code.

Run by hand:  .venv/bin/python benchmarks/startup.py --baseline /tmp/old [--repeat 20]

Each command runs `--repeat` times for this code and the baseline (`python -m pipeline.cli`
with PYTHONPATH set to the code's directory), alternating, so a busy machine slows both alike.
Figures are medians and minimums of the wall time; they print and go to
benchmarks/results/startup.json. (hyperfine gives the same comparison by hand:
`hyperfine -w 3 'PYTHONPATH=. python -m pipeline.cli --help' 'PYTHONPATH=/tmp/old ...'`.)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402

GOAL = 3.0
COMMANDS = {
    "--help": ["--help"],
    "topics check": ["topics", "check", "-c", str(ROOT / "examples/newswatch.yaml")],
}


def once(code: Path, argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *argv],
        cwd=code,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    codes = {"this code": ROOT, "baseline": args.baseline.resolve()}
    load = os.getloadavg()
    figures: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
        "baseline": str(codes["baseline"]),
        "repeat": args.repeat,
        "load_average_before": [round(x, 2) for x in load],
    }
    for name, argv in COMMANDS.items():
        times: dict[str, list[float]] = {label: [] for label in codes}
        for code in codes.values():
            once(code, argv)  # warm the file cache
        for _ in range(args.repeat):
            for label, code in codes.items():
                times[label].append(once(code, argv))
        new, old = (statistics.median(times[label]) for label in codes)
        figures[name] = {
            "this_code_median_s": round(new, 3),
            "this_code_min_s": round(min(times["this code"]), 3),
            "baseline_median_s": round(old, 3),
            "baseline_min_s": round(min(times["baseline"]), 3),
            "speedup": round(old / new, 2),
        }
        print(
            f"newswatch {name:12s}: {new:.3f} s (baseline {old:.3f} s) = {old / new:.1f}x faster"
            + (f" (goal {GOAL:.0f}x)" if name == "--help" else "")
        )
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["goal_help_speedup"] = GOAL
    write_results("startup", figures)


if __name__ == "__main__":
    main()
