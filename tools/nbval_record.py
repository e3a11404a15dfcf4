"""A pytest plugin that keeps what nbval ran: the executed copy of every notebook, for the site.

    NSTLAB_BUDGET=ci python -m pytest -p nbval_record --nbval-lax --nbval-current-env notebooks exercises

nbval runs each notebook top to bottom in a fresh kernel in its folder; in lax mode a cell that raises
fails its test, and outputs are not compared (cell tags: ``nbval-skip``, ``raises-exception``). This
plugin puts each cell's outputs (figures, text, errors) back into the notebook and, when no cell failed,
writes it to ``build/executed/<folder>/<name>.ipynb`` with ``nstlab_run`` metadata: the fingerprint of the
bytes, budget and library it was made from (:func:`run_course.fingerprint`) and its seconds. A notebook
with a failed cell leaves no copy. ``tools/build_site.py`` renders the copies without executing anything
again; ``--nbval-record-to DIR`` writes them elsewhere.

The kernels get the budget of ``NSTLAB_BUDGET`` and the inline figure backend (:func:`run_course.kernel_env`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
import run_course

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval not installed: the plugin records nothing
    IPyNbCell = None


@dataclass
class Record:
    """One notebook's run so far: its seconds, whether a cell failed, and the cells run (in order)."""

    seconds: float = 0.0
    failed: bool = False
    cells_run: list[int] = field(default_factory=list)


RECORDS = pytest.StashKey[dict]()
"""The runs of this pytest session, by notebook (its pytest node id)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--nbval-record-to",
        type=Path,
        default=None,
        help="folder of the executed copies (default: <rootdir>/build/executed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(run_course.kernel_env(run_course.current_budget()))  # nbval's kernels inherit it
    config.stash[RECORDS] = {}


def _is_cell(item: pytest.Item) -> bool:
    return IPyNbCell is not None and isinstance(item, IPyNbCell)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = (yield).get_result()
    if not _is_cell(item):
        return
    record = item.config.stash[RECORDS].setdefault(item.parent.nodeid, Record())
    record.seconds += report.duration
    record.failed |= report.failed
    if call.when == "call" and item.test_outputs is not None:
        record.cells_run.append(item.cell_num)
        item.cell.outputs = list(item.test_outputs)
        item.cell.execution_count = len(record.cells_run)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if not _is_cell(item) or (nextitem is not None and nextitem.parent is item.parent):
        return
    record = item.config.stash[RECORDS].get(item.parent.nodeid, Record())
    write_copy(item.parent, record, item.config)


def write_copy(notebook: pytest.File, record: Record, config: pytest.Config) -> None:
    """The executed copy of a notebook nbval has finished, or no copy if a cell failed."""
    root = config.rootpath
    out = config.getoption("nbval_record_to") or root / "build" / "executed"
    source = Path(notebook.path)
    target = run_course.executed_path(source, out, root)
    target.unlink(missing_ok=True)
    if record.failed:
        return
    nb = notebook.nb
    budget = run_course.current_budget()
    nb.metadata["nstlab_run"] = {
        "fingerprint": run_course.fingerprint(source, budget),
        "budget": budget,
        "seconds": round(record.seconds, 1),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
