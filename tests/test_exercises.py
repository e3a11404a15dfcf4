"""exercises/ is exactly what tools/make_exercises.py makes from solutions/, and the generator turns
solution regions into stubs the way nbgrader does."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
SETS = sorted(p.stem for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
CHAPTER_LINK = re.compile(r"\.\./notebooks/(\d\d_[a-z0-9_]+)\.ipynb")


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _notebook(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"t{i}"
    return nb


# ---------------------------------------------------------------------------------------------------
# exercises/ up to date
# ---------------------------------------------------------------------------------------------------


def test_exercises_are_up_to_date():
    problems = gen.stale(SOLUTIONS, EXERCISES)
    assert not problems, "\n".join(problems) + "\nrun `make exercises`"


def test_check_mode_exit_status(tmp_path, capsys):
    """--check exits 0 when up to date, 1 (naming the file) when a student notebook was edited by hand, or
    when an exercise has no solution; a chapter of notebooks/ without a source (chapter 00) is fine."""
    for folder in ("solutions/chapters", "notebooks"):
        (tmp_path / folder).mkdir(parents=True)
    src = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    nb = _notebook(nbformat.v4.new_code_cell(src))
    nbformat.write(nb, tmp_path / "solutions" / "01_x.ipynb")
    nbformat.write(nb, tmp_path / "solutions" / "chapters" / "01_ch.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "00_no_source.ipynb")
    args = ["--root", str(tmp_path)]
    assert gen.main(args) == 0
    assert gen.main([*args, "--check"]) == 0
    for path in (tmp_path / "exercises" / "01_x.ipynb", tmp_path / "notebooks" / "01_ch.ipynb"):
        text = path.read_text()
        path.write_text(text.replace("YOUR CODE HERE", "edited"))
        capsys.readouterr()
        assert gen.main([*args, "--check"]) == 1
        assert f"{path.parent.name}/{path.name} is out of date" in capsys.readouterr().out
        path.write_text(text)
    (tmp_path / "exercises" / "99_orphan.ipynb").write_text(path.read_text())
    gen.main(args)
    assert gen.main([*args, "--check"]) == 1
    assert "99_orphan.ipynb has no solution notebook" in capsys.readouterr().out


def test_the_chapters_are_generated_from_their_sources():
    """notebooks/NN_*.ipynb is what the generator makes from solutions/chapters/NN_*.ipynb."""
    sources, chapters = SOLUTIONS / "chapters", ROOT / "notebooks"
    assert sorted(p.name for p in sources.glob("*.ipynb")), "no chapter sources"
    problems = gen.stale(sources, chapters, orphans=False)
    assert not problems, "\n".join(problems) + "\nrun `make exercises`"


def test_your_turn_loses_must_pass_in_the_students_notebook():
    """The source proves its answer passes; the student's chapter falls back to the library instead."""
    line = "gram = checks.your_turn(gram, checks.check_gram, library=stats.gram, must_pass=True)"
    assert gen.unassert_checks(line) == "gram = checks.your_turn(gram, checks.check_gram, library=stats.gram)"
    wrapped = "x = checks.your_turn(\n    x,\n    checks.check_x,\n    library=f,\n    must_pass=True,\n)"
    assert (
        gen.unassert_checks(wrapped)
        == "x = checks.your_turn(\n    x,\n    checks.check_x,\n    library=f,\n)"
    )


def test_every_solution_has_its_student_version():
    assert SETS and SETS == sorted(p.stem for p in EXERCISES.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("name", SETS)
def test_every_set_links_its_chapters_and_they_link_it_back(name):
    for folder in (SOLUTIONS, EXERCISES):
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        intro = nb.cells[0].source
        assert intro.startswith("# Exercise set ")
        assert "../exercises/README.md" in intro
        chapters = CHAPTER_LINK.findall(intro)
        assert chapters, f"{name}: the intro links no chapter (../notebooks/NN_<name>.ipynb)"
        for chapter in chapters:
            text = (ROOT / "notebooks" / f"{chapter}.ipynb").read_text()
            assert f"../exercises/{name}.ipynb" in text, f"{chapter} does not link set {name}"


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("*.ipynb")), ids=lambda p: p.name)
def test_exercise_notebooks_hold_no_solution(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "raise NotImplementedError()" in text
    assert not re.search(r"^\s*assert\s+checks\.check_", text, re.MULTILINE)
    assert all(cell.get("outputs", []) == [] for cell in nb.cells)


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name)
def test_solution_notebooks_assert_their_checks(path):
    """Every check a solution calls is asserted there, and every solution region has a stub twin."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    asserted = set(re.findall(r"^assert checks\.(check_\w+)\(", code, re.MULTILINE))
    called = set(re.findall(r"checks\.(check_\w+)\(", code))
    assert asserted and asserted == called
    regions = code.count(gen.BEGIN)
    exercise = nbformat.read(EXERCISES / path.name, as_version=4)
    exercise_code = "\n".join(c.source for c in exercise.cells if c.cell_type == "code")
    stubs = exercise_code.count("raise NotImplementedError()")
    assert regions == stubs


# ---------------------------------------------------------------------------------------------------
# Generator behaviour on small notebooks
# ---------------------------------------------------------------------------------------------------


def test_code_region_becomes_a_stub_at_its_indentation():
    src = (
        "import torch\n\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    ### END SOLUTION\n\n"
        "class A:\n"
        "    def g(self):\n"
        "        ### BEGIN SOLUTION\n"
        "        return 2\n"
        "        ### END SOLUTION\n"
    )
    out = gen.make_exercise(_notebook(nbformat.v4.new_code_cell(src))).cells[0].source
    assert out == (
        "import torch\n\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n\n"
        "class A:\n"
        "    def g(self):\n"
        "        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
    )
    compile(out, "exercise", "exec")  # still valid Python


def test_markdown_region_becomes_your_answer_here():
    md = "**Your answer:**\n\n### BEGIN SOLUTION\nThe proof.\n\nMore proof.\n### END SOLUTION\n\nAfter."
    out = gen.make_exercise(_notebook(nbformat.v4.new_markdown_cell(md))).cells[0].source
    assert out == "**Your answer:**\n\nYOUR ANSWER HERE\n\nAfter."


def test_asserted_checks_become_plain_calls_and_other_asserts_stay():
    lines = ["assert checks.check_gram(gram)", "  assert checks.check_x(f, g)  ", "assert x == 1"]
    out = gen.make_exercise(_notebook(nbformat.v4.new_code_cell("\n".join(lines)))).cells[0].source
    assert out.split("\n") == ["checks.check_gram(gram)", "  checks.check_x(f, g)", "assert x == 1"]


def test_solution_only_cells_are_dropped():
    tagged = nbformat.v4.new_code_cell("print('answer')")
    tagged.metadata["tags"] = ["solution_only"]
    nb = _notebook(
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("<!-- SOLUTION ONLY -->\nThis is the solution notebook."),
        nbformat.v4.new_code_cell("# SOLUTION ONLY\nx = 42"),
        tagged,
        nbformat.v4.new_code_cell("y = 1"),
    )
    out = gen.make_exercise(nb)
    assert [c.source for c in out.cells] == ["# Title", "y = 1"]
    assert [c.id for c in out.cells] == ["t0", "t4"]  # ids kept from the solution


def test_outputs_stripped_and_output_deterministic():
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    nb = _notebook(cell, nbformat.v4.new_markdown_cell("text"))
    first, second = gen.render(gen.make_exercise(nb)), gen.render(gen.make_exercise(nb))
    assert first == second
    data = json.loads(first)
    assert data["cells"][0]["outputs"] == [] and data["cells"][0]["execution_count"] is None
    assert first == json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert nb.cells[0].outputs  # the solution notebook itself is not modified


@pytest.mark.parametrize(
    ("src", "phrase"),
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "top level"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1", "without"),
        ("def f():\n    return 1\n    ### END SOLUTION", "without"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "nested"),
    ],
)
def test_bad_markers_are_errors(src, phrase):
    with pytest.raises(gen.MarkerError, match=phrase):
        gen.make_exercise(_notebook(nbformat.v4.new_code_cell(src)), "x.ipynb")


@pytest.mark.parametrize("name", SETS)
def test_every_set_is_listed_where_students_look_for_it(name):
    """The sets' table (exercises/README.md) and the course map of chapter 00 name every set."""
    assert f"({name}.ipynb)" in (EXERCISES / "README.md").read_text(), f"exercises/README.md lacks {name}"
    assert f"../exercises/{name}.ipynb" in (ROOT / "notebooks" / "00_start_here.ipynb").read_text(), (
        f"notebooks/00_start_here.ipynb (the course map) lacks {name}"
    )
