"""Execute the course once and keep the executed copies: the test of the notebooks and the site's input.

    python tools/run_course.py                         # every chapter and exercise set, NSTLAB_BUDGET or ci
    python tools/run_course.py notebooks/06_wct.ipynb  # one notebook
    python tools/run_course.py --budget laptop --stale # only notebooks whose bytes or the library changed

Each notebook runs top to bottom in its own folder with nbclient and stops at the first cell that raises
(nbval's lax mode: outputs are not compared, errors fail). The executed copy, with the ipywidgets state
and the seconds of every cell, goes to ``build/executed/<folder>/<name>.ipynb``; a failed run leaves no
copy. ``tests/course/test_course_runs.py`` calls :func:`run` for every notebook (``make test-course``) and
``tools/build_site.py`` renders the copies without executing anything again.

Cell tags: ``nbval-skip`` cells are not run (their source still shows); ``nbval-raises-exception`` and
``raises-exception`` cells may raise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbclient.output_widget import OutputWidget

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "executed"
LIBRARY = ROOT / "nstlab"
FOLDERS = ("notebooks", "exercises")
SKIP_TAG = "nbval-skip"
RAISES_TAGS = ("nbval-raises-exception", "raises-exception")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Seconds a cell may go without a reply from the kernel; a notebook that times out is run once more with a
# fresh kernel. The ci budget's slowest cell takes well under a minute, so its limit is short.
CELL_TIMEOUT = {"ci": 180}
DEFAULT_CELL_TIMEOUT = 600
STALL_RETRIES = 1


@dataclass
class Run:
    """One notebook's run: where it came from and went, its seconds, and the error if a cell raised."""

    source: Path
    executed: Path
    seconds: float = 0.0
    cell_seconds: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def course_notebooks(root: Path = ROOT) -> list[Path]:
    """The chapters ``notebooks/NN_*.ipynb`` in order, then the exercise sets (student versions)."""
    chapters = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return chapters + sorted((root / "exercises").glob("*.ipynb"))


def executed_path(source: Path, out: Path = OUT, root: Path = ROOT) -> Path:
    """``build/executed/<folder>/<name>.ipynb`` for ``<root>/<folder>/<name>.ipynb``."""
    return out / source.resolve().relative_to(root.resolve())


def library_digest(library: Path = LIBRARY) -> str:
    """sha256 of the library's code and shipped data records (``nstlab/**/*.py``, ``nstlab/data/*.json``):
    the pictures of an executed notebook change when the library does."""
    files = sorted([*library.rglob("*.py"), *library.glob("data/*.json")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(library).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(source: Path, budget: str, library: Path = LIBRARY) -> str:
    """sha256 of the notebook's bytes, the budget and the library: an executed copy with the same one is up
    to date."""
    text = f"\nbudget={budget}\nlibrary={library_digest(library)}"
    return hashlib.sha256(source.read_bytes() + text.encode()).hexdigest()


def current_budget() -> str:
    return os.environ.get("NSTLAB_BUDGET", "laptop")


def is_fresh(source: Path, out: Path = OUT, root: Path = ROOT, budget: str | None = None) -> bool:
    """True when the executed copy exists and was made from these bytes at this budget."""
    path = executed_path(source, out, root)
    if not path.exists():
        return False
    meta = nbformat.read(path, as_version=4).metadata.get("nstlab_run", {})
    return meta.get("fingerprint") == fingerprint(source, budget or current_budget())


def kernel_env(budget: str) -> dict[str, str]:
    """The kernel's environment: the budget, passive OpenMP waits, and the inline figure backend (a test
    process's ``MPLBACKEND=Agg`` would otherwise reach the kernel and no figure would be kept)."""
    env = dict(os.environ, NSTLAB_BUDGET=budget, MPLBACKEND="module://matplotlib_inline.backend_inline")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spin-waiting threads on shared cores: benchmarks/README.md
    return env


def _mark_tags(nb: nbformat.NotebookNode) -> None:
    """Give nbclient's own tag to cells that nbval lets raise."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in tags for tag in RAISES_TAGS) and "raises-exception" not in tags:
            cell.metadata["tags"] = [*tags, "raises-exception"]


def _error_text(source: Path, index: int | None, exc: CellExecutionError) -> str:
    """Which cell failed and nbclient's report (the cell's source and traceback), without terminal colours."""
    where = f"{source.name}, cell {index}" if index is not None else source.name
    return f"{where} raised:\n{ANSI.sub('', str(exc))}"


def _cell_seconds(cell: nbformat.NotebookNode) -> float:
    """Seconds between nbclient's recorded start and end of a cell (0 when it did not run)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (
        datetime.fromisoformat(end.rstrip("Z")) - datetime.fromisoformat(start.rstrip("Z"))
    ).total_seconds()


class RecordingOutputWidget(OutputWidget):
    """nbclient's imitation of a frontend's Output widget, minus the echo of each output to the kernel.

    The echo is a comm message sent on the shell channel while nbclient waits there for the cell's reply;
    the reply could then be missed and the cell stalled until the timeout (nbclient issue #312). A batch
    run needs only the record of what the widget showed (the widget state the site turns into a still
    picture), which the imitation keeps without the echo."""

    def sync_state(self) -> None:
        pass


def _execute(source: Path, budget: str, timeout: int) -> tuple[nbformat.NotebookNode, str | None]:
    """One top-to-bottom run with a fresh kernel: the executed notebook and the error text (None if fine).
    Raises nbclient's CellTimeoutError when a cell gets no reply within ``timeout`` seconds."""
    nb = nbformat.read(source, as_version=4)
    _mark_tags(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=True,
        store_widget_state=True,
        skip_cells_with_tag=SKIP_TAG,
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.widget_registry["@jupyter-widgets/output"]["OutputModel"] = RecordingOutputWidget
    failed_cell: list[int] = []
    client.on_cell_error = lambda cell, cell_index, execute_reply: failed_cell.append(cell_index)
    try:
        client.execute(env=kernel_env(budget))
    except CellExecutionError as exc:
        return nb, _error_text(source, failed_cell[0] if failed_cell else None, exc)
    return nb, None


def run(source: Path, out: Path = OUT, root: Path = ROOT, timeout: int | None = None) -> Run:
    """Execute ``source`` in its folder; write the executed copy on success (remove a stale one on error).

    A cell without a reply within ``timeout`` (default :data:`CELL_TIMEOUT` of the budget) fails the run,
    after :data:`STALL_RETRIES` more runs with a fresh kernel."""
    budget = current_budget()
    timeout = timeout or CELL_TIMEOUT.get(budget, DEFAULT_CELL_TIMEOUT)
    result = Run(source=source, executed=executed_path(source, out, root))
    start, nb = time.perf_counter(), None
    for attempt in range(STALL_RETRIES + 1):
        try:
            nb, result.error = _execute(source, budget, timeout)
            break
        except CellTimeoutError as exc:
            result.error = f"{source.name}: a cell got no reply from the kernel within {timeout} s: {exc}"
            if attempt < STALL_RETRIES:
                print(f"{result.error}; running it again with a fresh kernel", file=sys.stderr)
    result.seconds = time.perf_counter() - start
    result.cell_seconds = [_cell_seconds(cell) for cell in nb.cells] if nb is not None else []
    result.executed.unlink(missing_ok=True)
    if result.ok:
        nb.metadata["nstlab_run"] = {
            "fingerprint": fingerprint(source, budget),
            "budget": budget,
            "seconds": round(result.seconds, 1),
        }
        result.executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, result.executed)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: chapters and exercises)")
    parser.add_argument("--budget", help="NSTLAB_BUDGET for the kernels (default: the environment's, or ci)")
    parser.add_argument("--stale", action="store_true", help="skip notebooks whose executed copy is fresh")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course checkout (default: this one)")
    parser.add_argument(
        "--out", type=Path, help="where the executed copies go (default: ROOT/build/executed)"
    )
    args = parser.parse_args(argv)
    os.environ["NSTLAB_BUDGET"] = args.budget or os.environ.get("NSTLAB_BUDGET", "ci")
    root = args.root.resolve()
    out = args.out or root / "build" / "executed"
    paths = [p.resolve() for p in args.paths] or course_notebooks(root)
    failed = 0
    for path in paths:
        name = path.relative_to(root)
        if args.stale and is_fresh(path, out, root):
            print(f"fresh    {name}", flush=True)
            continue
        result = run(path, out, root)
        print(f"{'ok' if result.ok else 'FAILED':8} {name}  {result.seconds:.1f} s", flush=True)
        if not result.ok:
            failed += 1
            print(result.error, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
