"""nbgrader accepts solutions/ (tools/nbgrader_course.py adds the cell metadata it needs): its
generate_assignment turns every set into our student version (exercises/), the autograder gives a solved
copy full marks on every test cell, and fails them on the unfinished student version.

The solved copies are the solutions themselves, so nbgrader's autograder runs every solution notebook
(nbval, in `make test-course`, has run them once already): an error output anywhere in a graded copy
fails the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import make_exercises
import nbformat
import nbgrader_course
import pytest

pytestmark = pytest.mark.course
ROOT = Path(__file__).resolve().parents[2]
SETS = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
SOLVED, STUB = "solved", "stub"


BIN = Path(sys.executable).parent


def nbgrader(course: Path, *args: str) -> None:
    """Run the nbgrader command of this environment in ``course``; fail with its log on an error."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "| ERROR]" in done.stdout + done.stderr:
        pytest.fail(
            f"nbgrader {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-6000:]}", pytrace=False
        )


def submit(course: Path, student: str, name: str, notebook: Path) -> None:
    target = course / "submitted" / student / name / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, target)


def smallest_set(course: Path) -> str:
    return min(SETS, key=lambda n: (course / "source" / n / f"{n}.ipynb").stat().st_size)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An nbgrader course with every set generated, the solutions submitted as solved copies and the
    smallest set's student version submitted unfinished, all autograded."""
    with pytest.MonkeyPatch.context() as patch:
        # nbgrader runs `alembic` (its database migrations) from PATH, in its commands and in Gradebook
        patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        yield make_course(tmp_path_factory.mktemp("nbgrader"))


def make_course(course: Path) -> Path:
    assert nbgrader_course.write_course(course) == SETS
    nbgrader(course, "generate_assignment", "*", "--force")
    for name in SETS:
        submit(course, SOLVED, name, course / "source" / name / f"{name}.ipynb")
    stub = smallest_set(course)
    submit(course, STUB, stub, course / "release" / stub / f"{stub}.ipynb")
    nbgrader(course, "autograde", "*", "--force")
    return course


def grades(course: Path, name: str, student: str) -> list:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(name, student)
        return [
            (g.name, g.cell_type, g.auto_score, g.max_score, g.needs_manual_grade)
            for notebook in submission.notebooks
            for g in notebook.grades
        ]


@pytest.mark.parametrize("name", SETS)
def test_generate_assignment_makes_our_student_version(course, name):
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    ours = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    assert [c.cell_type for c in release.cells] == [c.cell_type for c in ours.cells]
    for index, (theirs, mine) in enumerate(zip(release.cells, ours.cells, strict=True)):
        # the one documented difference: nbgrader keeps `assert` on the graded check cells
        assert make_exercises.unassert_checks(theirs.source) == mine.source, f"{name}, cell {index}"
    assert any(make_exercises.CODE_STUB[1] in c.source for c in release.cells), "no stub: nothing to solve"


@pytest.mark.parametrize("name", SETS)
def test_autograde_gives_the_solution_full_marks(course, name):
    result = grades(course, name, SOLVED)
    tests = [g for g in result if g[1] == "code"]
    assert tests, f"{name}: no autograded test cell (assert checks.check_...)"
    for grade_id, _, auto, maximum, _ in tests:
        assert auto == maximum, f"{name}: {grade_id} scored {auto} of {maximum}"
    assert all(g[4] for g in result if g[1] == "markdown"), "written answers are graded by hand"
    graded = nbformat.read(course / "autograded" / SOLVED / name / f"{name}.ipynb", as_version=4)
    errors = [
        (i, o.get("ename"))
        for i, c in enumerate(graded.cells)
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{name}: cells raised while grading: {errors}"


def test_autograde_fails_the_unfinished_student_version(course):
    name = smallest_set(course)
    tests = [g for g in grades(course, name, STUB) if g[1] == "code"]
    assert tests and all(auto == 0 for _, _, auto, _, _ in tests), tests
