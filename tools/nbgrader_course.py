"""Make an nbgrader course folder from ``solutions/``: each exercise set becomes an nbgrader assignment.

    python tools/nbgrader_course.py ~/grading/nstlab          # writes nbgrader_config.py and source/
    cd ~/grading/nstlab
    nbgrader generate_assignment 02_gram_mmd                   # release/02_gram_mmd/: the student version
    nbgrader collect / autograde 02_gram_mmd ...               # the usual nbgrader workflow

``solutions/`` carries only nbgrader's markers (``### BEGIN SOLUTION`` / ``### END SOLUTION``); the cell
metadata nbgrader also needs is derived here from them, so the solutions stay free of it and a cell
added to a solution is graded without a hand edit:

- a code cell with a solution region: an autograded answer (``solution``);
- a markdown cell with a solution region: a manually graded answer (``solution`` + ``grade``, 1 point);
- a code cell with ``assert checks.check_<task>(...)``: an autograder test (``grade``, locked, 1 point):
  on an unfinished stub the check returns False and the assert fails, on a correct answer it passes;
- cells that ``tools/make_exercises.py`` drops (tag ``solution_only``, or a first line
  ``# SOLUTION ONLY`` / ``<!-- SOLUTION ONLY -->``) are left out here too.

nbgrader's student version then equals ``exercises/`` (``tests/course/test_nbgrader.py``), except that the
check cells keep their ``assert`` (nbgrader grades them); ours print the verdict instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_exercises  # noqa: E402

ROOT = make_exercises.ROOT
SCHEMA_VERSION = 3
CONFIG = """\
# nbgrader configuration of the nstlab exercise sets (written by tools/nbgrader_course.py)
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "nstlab"
c.CourseDirectory.root = {root!r}
c.Execute.timeout = 600  # seconds per cell: some checks load the VGG backbone
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
"""


def cell_role(cell: nbformat.NotebookNode) -> str | None:
    """``"answer"``, ``"written"`` (markdown answer), ``"test"`` or None, from the cell's text."""
    has_region = any(line.strip() == make_exercises.BEGIN for line in cell.source.split("\n"))
    if has_region:
        return "answer" if cell.cell_type == "code" else "written"
    if cell.cell_type == "code" and any(
        make_exercises.ASSERT_CHECK.match(x) for x in cell.source.split("\n")
    ):
        return "test"
    return None


def nbgrader_metadata(role: str, grade_id: str) -> dict:
    """nbgrader's cell metadata (schema 3) for one role."""
    meta = {"grade_id": grade_id, "schema_version": SCHEMA_VERSION, "task": False, "locked": False}
    if role == "answer":
        meta |= {"solution": True, "grade": False}
    elif role == "written":
        meta |= {"solution": True, "grade": True, "points": 1}
    elif role == "test":
        meta |= {"solution": False, "grade": True, "locked": True, "points": 1}
    else:
        raise ValueError(f"role must be 'answer', 'written' or 'test', got {role!r}")
    return meta


def nbgrader_source(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution notebook as nbgrader's source: solution-only cells dropped, roles in the metadata."""
    cells = []
    for index, cell in enumerate(solution.cells):
        if make_exercises.is_solution_only(cell):
            continue
        cell = nbformat.from_dict(dict(cell))
        cell.metadata = nbformat.from_dict(dict(cell.get("metadata", {})))
        role = cell_role(cell)
        if role:
            cell.metadata["nbgrader"] = nbgrader_metadata(role, f"{role}-{cell.get('id') or index}")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    return nbformat.from_dict({**solution, "cells": cells})


def write_course(course: Path, solutions: Path = ROOT / "solutions") -> list[str]:
    """Write ``course/nbgrader_config.py`` and ``course/source/<set>/<set>.ipynb``; return the set names."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course.resolve())), encoding="utf-8")
    names = []
    for path in sorted(solutions.glob("*.ipynb")):
        source = nbgrader_source(nbformat.read(path, as_version=4))
        target = course / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source, target)
        names.append(path.stem)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("course", type=Path, help="the nbgrader course folder to write")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    args = parser.parse_args(argv)
    names = write_course(args.course, args.solutions)
    print(f"wrote {len(names)} assignments to {args.course / 'source'}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
