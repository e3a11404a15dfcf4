"""Wall time of every course notebook, run by nbval with a fresh kernel as `make test` runs them.

    .venv/bin/python benchmarks/course.py                           # notebooks/, solutions/, exercises/ at ci
    .venv/bin/python benchmarks/course.py notebooks/06_wct.ipynb --budgets ci laptop
    .venv/bin/python benchmarks/course.py notebooks/[01]*.ipynb --budgets laptop ci --write

Prints a markdown table (seconds per notebook and budget), against the course budget of
DESIGN.md: each chapter under 90 s at ci, the whole course under 15 minutes on the 2-core machine.
``--write`` records the chapters' seconds in ``benchmarks/chapter_times.json`` and rewrites each
chapter's **Time.** line from them, so the running time a student reads is the one measured
(``tests/test_course_structure.py`` checks that the line and the record agree).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import run_course  # noqa: E402

CHAPTER_LIMIT_S = 90.0
COURSE_LIMIT_S = 15 * 60.0
TIMES = ROOT / "benchmarks" / "chapter_times.json"
DEFAULT_BUDGET = "laptop"
TIME_LINE = re.compile(r"\*\*Time\.\*\*.*?(?=\n\n|\Z)", re.S)
READING = re.compile(r"(\d+)\s*min to read")


def time_line(reading_min: int, seconds: dict[str, float]) -> str:
    """The chapter's **Time.** line from its reading time and its measured seconds per budget."""
    run_min = max(1, round(seconds[DEFAULT_BUDGET] / 60))
    order = sorted(seconds, key=lambda b: b != DEFAULT_BUDGET)  # the default budget first
    measured = ", ".join(f"`{b}` {seconds[b]:.0f} s" for b in order)
    return (
        f"**Time.** About {reading_min} min to read and work; about {run_min} min to run at the default "
        f"budget (measured on a 2-core CPU: {measured}; `benchmarks/course.py`)."
    )


def write_time_line(path: Path, seconds: dict[str, float]) -> None:
    """Rewrite the **Time.** line of a chapter's header cell from its measured ``seconds``."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells[:3] if c.cell_type == "markdown" and "**Time.**" in c.source)
    old = TIME_LINE.search(cell.source).group()
    reading = READING.search(old)
    if reading is None:
        raise ValueError(f"{path.name}: the Time line does not say how many minutes reading takes: {old!r}")
    cell.source = cell.source.replace(old, time_line(int(reading.group(1)), seconds))
    nbformat.write(nb, path)


def run_notebook(path: Path, budget: str) -> float:
    """Seconds of one run under ``budget`` (nbval, a fresh kernel; ``make test-course --durations`` lists the
    slowest cells)."""
    os.environ["NSTLAB_BUDGET"] = budget
    (result,) = run_course.run([path], out=ROOT / "build" / "timed" / budget)
    if not result.ok:
        raise RuntimeError(result.error)
    return result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--budgets", nargs="+", default=["ci"], choices=["ci", "laptop", "gpu"])
    parser.add_argument("--write", action="store_true", help="record chapter times and rewrite Time lines")
    args = parser.parse_args()
    paths = [p.resolve() for p in args.paths] or run_course.course_notebooks(ROOT)
    record = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    print("| notebook | budget | seconds |", flush=True)
    print("| --- | --- | ---: |", flush=True)
    total = dict.fromkeys(args.budgets, 0.0)
    for path in paths:
        name, measured = path.relative_to(ROOT), {}
        for budget in args.budgets:
            seconds = run_notebook(path, budget)
            total[budget] += seconds
            measured[budget] = round(seconds, 1)
            over = budget == "ci" and path.parent.name == "notebooks" and seconds > CHAPTER_LIMIT_S
            flag = " (over 90 s)" if over else ""
            print(f"| {name} | {budget} | {seconds:.1f}{flag} |", flush=True)
        if args.write and path.parent.name == "notebooks":
            record[path.name] = record.get(path.name, {}) | measured
            TIMES.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
            if DEFAULT_BUDGET in record[path.name]:
                write_time_line(path, record[path.name])
    for budget, seconds in total.items():
        print(f"\n{budget}: total {seconds:.0f} s ({seconds / 60:.1f} min; course limit at ci 15 min)")


if __name__ == "__main__":
    main()
