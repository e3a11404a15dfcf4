"""Every chapter and every exercise set (student version, stubs unfinished) runs from top to bottom under
the budget in NSTLAB_BUDGET: the first cell that raises fails the test with its traceback, as nbval's lax
mode does. Each run keeps its executed copy in build/executed/ for the site (tools/build_site.py renders
them without executing anything again), so CI executes every notebook once."""

from __future__ import annotations

import pytest
import run_course

pytestmark = pytest.mark.course


@pytest.mark.parametrize("path", run_course.course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_runs_top_to_bottom(path):
    result = run_course.run(path)
    slowest = sorted(range(len(result.cell_seconds)), key=lambda i: -result.cell_seconds[i])[:3]
    print(
        f"{path.name}: {result.seconds:.1f} s; slowest cells", [(i, result.cell_seconds[i]) for i in slowest]
    )
    if not result.ok:
        pytest.fail(result.error, pytrace=False)
    assert result.executed.is_file()
