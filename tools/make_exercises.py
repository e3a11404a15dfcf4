"""Write the student notebooks from their sources: they are generated, never edited by hand.

    python tools/make_exercises.py            # (re)write exercises/ and the chapters of notebooks/
    python tools/make_exercises.py --check    # exit 1 and list what is out of date (CI, tests)

Two pairs of folders: ``solutions/*.ipynb`` (the exercise sets, solved) -> ``exercises/``, and
``solutions/chapters/*.ipynb`` (the chapters, their "Your turn" cells filled in) -> ``notebooks/``.

Conventions (nbgrader's markers, so instructors can also grade with nbgrader):

- In a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the indentation of the BEGIN line. Regions
  must lie inside a function body (indented): a stub raising at top level would stop the notebook.
- In a markdown cell the region becomes ``YOUR ANSWER HERE``.
- A line ``assert checks.check_<task>(...)`` becomes the plain call ``checks.check_<task>(...)``: the
  solutions assert that every check passes; the exercises only print the verdict, so they run from top to
  bottom with unfinished stubs. Likewise ``checks.your_turn(..., must_pass=True)`` (a chapter's "Your
  turn" cell) loses ``must_pass=True``: the source proves its answer passes, the student's chapter goes on
  with the library's version until theirs does.
- A cell is dropped from the exercise when it carries the tag ``solution_only`` or its first line is
  ``# SOLUTION ONLY`` (code) or ``<!-- SOLUTION ONLY -->`` (markdown).
- Outputs and execution counts are stripped; cell ids are kept from the solution (or numbered), and the
  file is written with sorted keys, so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"
SOLUTION_ONLY_TAG = "solution_only"
SOLUTION_ONLY_LINES = {"code": "# SOLUTION ONLY", "markdown": "<!-- SOLUTION ONLY -->"}
ASSERT_CHECK = re.compile(r"^(\s*)assert\s+(checks\.check_\w+\(.*\))\s*$")
MUST_PASS = re.compile(r",\s*must_pass=True")
PAIRS = (("solutions", "exercises"), ("solutions/chapters", "notebooks"))
"""(source folder, student folder) relative to the repository root."""


class MarkerError(ValueError):
    """A solution region that cannot be turned into an exercise (unmatched, nested or at top level)."""


def is_solution_only(cell: nbformat.NotebookNode) -> bool:
    """True when the cell is meant for the solution notebook only."""
    if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
        return True
    first = cell.source.lstrip("\n").split("\n", 1)[0].strip()
    return first == SOLUTION_ONLY_LINES.get(cell.cell_type)


def replace_regions(source: str, cell_type: str, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION region of one cell's source by the stub of its cell type."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise MarkerError(f"{where}, line {number}: nested {BEGIN!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if cell_type == "code":
                if not indent:
                    raise MarkerError(
                        f"{where}, line {number}: a solution region at top level would raise "
                        "NotImplementedError while the exercise notebook runs; put it inside a function body"
                    )
                out += [indent + stub for stub in CODE_STUB]
            else:
                out.append(indent + ANSWER_STUB)
        elif marker == END:
            if not inside:
                raise MarkerError(f"{where}, line {number}: {END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: {BEGIN!r} without {END!r}")
    return "\n".join(out)


def unassert_checks(source: str) -> str:
    """``assert checks.check_x(f)`` -> ``checks.check_x(f)`` and ``checks.your_turn(..., must_pass=True)`` ->
    ``checks.your_turn(...)``: the student's notebook prints the verdict, never fails."""
    return MUST_PASS.sub("", "\n".join(ASSERT_CHECK.sub(r"\1\2", line) for line in source.split("\n")))


def make_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The exercise notebook generated from a solution notebook (the input is not modified)."""
    cells = []
    for index, cell in enumerate(solution.cells):
        if is_solution_only(cell):
            continue
        where = f"{name}, cell {index}"
        source = replace_regions(cell.source, cell.cell_type, where)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(unassert_checks(source))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(source)
        else:
            new = nbformat.v4.new_raw_cell(source)
        new.metadata = nbformat.from_dict(dict(cell.get("metadata", {})))
        new["id"] = cell.get("id") or f"c{index:02d}"
        cells.append(new)
    exercise = nbformat.v4.new_notebook(cells=cells, metadata=nbformat.from_dict(dict(solution.metadata)))
    exercise.nbformat, exercise.nbformat_minor = 4, max(solution.get("nbformat_minor", 5), 5)
    return exercise


def render(nb: nbformat.NotebookNode) -> str:
    """Deterministic text of a notebook: nbformat's JSON (sorted keys, indent 1) plus a final newline."""
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4).rstrip("\n") + "\n"


def generate(solutions: Path, exercises: Path) -> dict[Path, str]:
    """{exercise path: text} for every solution notebook."""
    out = {}
    for path in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        out[exercises / path.name] = render(make_exercise(solution, path.name))
    return out


def stale(solutions: Path, exercises: Path, orphans: bool = True) -> list[str]:
    """What differs between exercises/ and what the generator makes (empty when up to date). ``orphans``:
    also report a student notebook without a source (not for notebooks/, where chapter 00 has none)."""
    expected = generate(solutions, exercises)
    problems = [
        f"{path.relative_to(exercises.parent)} is {'missing' if not path.exists() else 'out of date'}"
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(exercises.parent)} has no solution notebook (delete it or add the solution)"
        for path in sorted(exercises.glob("*.ipynb"))
        if orphans and path not in expected
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    parser.add_argument("--check", action="store_true", help="only report what is out of date (exit 1)")
    args = parser.parse_args(argv)
    pairs = [(args.root / src, args.root / dst) for src, dst in PAIRS]
    if args.check:
        problems = [p for src, dst in pairs for p in stale(src, dst, orphans=dst.name == "exercises")]
        for problem in problems:
            print(problem)
        if problems:
            print("run `make exercises` to regenerate exercises/ and notebooks/ from solutions/")
        return 1 if problems else 0
    for src, dst in pairs:
        dst.mkdir(parents=True, exist_ok=True)
        for path, text in generate(src, dst).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
