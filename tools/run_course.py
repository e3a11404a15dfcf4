"""Execute the course with nbval and keep the executed copies: the test of the notebooks and the site's input.

    python tools/run_course.py                         # every chapter and exercise set, NSTLAB_BUDGET or ci
    python tools/run_course.py notebooks/06_wct.ipynb  # one notebook
    python tools/run_course.py --budget laptop --stale # only notebooks whose bytes or the library changed

One pytest process runs the notebooks with nbval in lax mode (each in a fresh kernel in its folder; a
cell that raises fails, outputs are not compared; cell tags ``nbval-skip`` and ``raises-exception``), and
the plugin ``tools/nbval_record.py`` keeps each executed copy, with its seconds, in
``build/executed/<folder>/<name>.ipynb``; a failed notebook leaves no copy. ``make test-course`` runs
the same command over chapters, exercise sets and solutions; ``tools/build_site.py`` renders the copies
and calls :func:`run` only for copies that are missing or stale.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(__file__).resolve().parent
OUT = ROOT / "build" / "executed"
LIBRARY = ROOT / "nstlab"
# Seconds a cell may run. The ci budget's slowest cell takes well under a minute, so its limit is short.
CELL_TIMEOUT = {"ci": 180}
DEFAULT_CELL_TIMEOUT = 600


@dataclass
class Run:
    """One notebook's run: where it came from and went, its seconds, and the error if a cell failed."""

    source: Path
    executed: Path
    seconds: float = 0.0
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


def nbval_command(paths: list[Path], out: Path, root: Path, timeout: int) -> list[str]:
    """The pytest command that runs ``paths`` with nbval (lax) and keeps the executed copies in ``out``."""
    return [
        sys.executable, "-m", "pytest", "-p", "nbval_record", "--nbval-lax", "--nbval-current-env",
        f"--nbval-cell-timeout={timeout}", f"--nbval-record-to={out}", f"--rootdir={root}",
        "-p", "no:cacheprovider", "-q", *map(str, paths),
    ]  # fmt: skip


def run(paths: list[Path], out: Path = OUT, root: Path = ROOT, timeout: int | None = None) -> list[Run]:
    """Run the notebooks with nbval in one pytest process; one :class:`Run` per notebook, in order.

    A cell running longer than ``timeout`` seconds (default :data:`CELL_TIMEOUT` of the budget) fails.
    A failed notebook's error is the pytest report of its failed cells."""
    budget = current_budget()
    timeout = timeout or CELL_TIMEOUT.get(budget, DEFAULT_CELL_TIMEOUT)
    env = kernel_env(budget) | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TOOLS), os.environ.get("PYTHONPATH")]))
    }
    done = subprocess.run(
        nbval_command(paths, out, root, timeout),
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    report = done.stdout + done.stderr
    results = []
    for source in paths:
        result = Run(source=source, executed=executed_path(source, out, root))
        if result.executed.exists():
            meta = nbformat.read(result.executed, as_version=4).metadata.get("nstlab_run", {})
            result.seconds = meta.get("seconds", 0.0)
        else:
            name = source.resolve().relative_to(root.resolve()).as_posix()
            failed = [line for line in report.splitlines() if name in line and "FAILED" in line]
            result.error = f"{name} failed under nbval:\n" + "\n".join(failed or [report[-4000:]])
        results.append(result)
    return results


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
    if args.stale:
        paths = [p for p in paths if not is_fresh(p, out, root)]
    failed = 0
    for result in run(paths, out, root) if paths else []:
        print(
            f"{'ok' if result.ok else 'FAILED':8} {result.source.relative_to(root)}  {result.seconds:.1f} s"
        )
        if not result.ok:
            failed += 1
            print(result.error, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
