"""Wall time of every course notebook under a budget (default ``ci``), executed as nbval executes them.

    .venv/bin/python benchmarks/course.py                  # notebooks/, solutions/, exercises/
    .venv/bin/python benchmarks/course.py notebooks/06_wct.ipynb

Prints a markdown table (seconds per notebook, slowest cell) and the total, against the course budget
of DESIGN.md: each chapter under 90 s, the whole course under 15 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_LIMIT_S = 90.0
COURSE_LIMIT_S = 15 * 60.0


def run_notebook(path: Path, timeout: int = 600) -> tuple[float, float, str]:
    """Execute one notebook in its own folder; return (seconds, slowest cell seconds, its first line)."""
    nb = nbformat.read(path, as_version=4)
    cell_times: list[tuple[float, str]] = []
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            first = cell.source.splitlines()[0] if cell.source else ""
            cell_times.append((time.perf_counter() - t0, first[:50]))
    total = time.perf_counter() - start
    slowest = max(cell_times)
    return total, slowest[0], slowest[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--budget", default="ci")
    args = parser.parse_args()
    os.environ["NSTLAB_BUDGET"] = args.budget
    paths = args.paths or sorted(
        p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb")
    )
    print("| notebook | seconds | slowest cell (s) | slowest cell starts with |", flush=True)
    print("| --- | --- | --- | --- |", flush=True)
    total = 0.0
    for path in paths:
        seconds, slow_s, slow_line = run_notebook(path)
        total += seconds
        flag = " (over 90 s)" if path.parent.name == "notebooks" and seconds > CHAPTER_LIMIT_S else ""
        name = path.resolve().relative_to(ROOT)
        print(f"| {name} | {seconds:.1f}{flag} | {slow_s:.1f} | `{slow_line}` |", flush=True)
    print(f"\ntotal {total:.0f} s ({total / 60:.1f} min; course limit {COURSE_LIMIT_S / 60:.0f} min)")


if __name__ == "__main__":
    main()
