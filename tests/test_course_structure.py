"""The scaffolding every chapter promises a student (CONTRIBUTING.md, "Adding a chapter"): objectives,
prerequisites and time at the top, "Your turn" cells checked by a check call and free of answers,
predict-then-run prompts whose prediction is recorded and answered, questions beside every widget,
end-of-chapter questions with answers in the solutions, exercise sets that climb from warm-up to stretch
with an integration task, working links, and no nbval marker comments in what a student reads."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TAUGHT = [p for p in CHAPTERS if not p.stem.startswith("00")]
SETS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
STUB = "# YOUR CODE HERE"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
LEVELS = ("warm-up", "core", "stretch")
TASK = re.compile(r"^## Task \d+ \(([^)]*)\):", re.MULTILINE)
ALL_NOTEBOOKS = (
    CHAPTERS + sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
)
NBVAL_COMMENT = re.compile(r"^\s*#\s*(NBVAL|PYTEST_VALIDATE)_\w+", re.MULTILINE)
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [{**c, "text": "".join(c["source"])} for c in nb["cells"]]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 12


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_objectives_prerequisites_and_time(path):
    first = cells(path)[:2]
    assert first[0]["cell_type"] == "markdown" and first[0]["text"].startswith("# "), "cell 0 is the title"
    header = first[1]
    assert header["cell_type"] == "markdown", "cell 1 holds objectives, prerequisites and time"
    for label in ("**Learning objectives.**", "**Prerequisites.**", "**Time.**"):
        assert re.search(rf"^{re.escape(label)}", header["text"], re.MULTILINE), f"cell 1 lacks {label}"
    objectives = header["text"].split("**Learning objectives.**", 1)[1].split("**Prerequisites.**", 1)[0]
    assert len(re.findall(r"^\s*- ", objectives, re.MULTILINE)) >= 2, "list the objectives as bullets"
    assert re.search(r"\d+\s*min", header["text"].split("**Time.**", 1)[1]), "state the time in minutes"


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.stem)
def test_chapter_has_predict_then_run_prompts_recorded_and_revealed(path):
    """Each prompt is answered in code: the next code cell records `guess = ...` before anything else,
    compares it with the measured answer through checks.prediction, and pins the prose with an assert."""
    cs = cells(path)
    prompts = [
        i
        for i, c in enumerate(cs)
        if c["cell_type"] == "markdown" and c["text"].startswith("> **Predict, then run.**")
    ]
    assert len(prompts) >= 2, f"{path.name}: {len(prompts)} predict-then-run prompt(s), need 2"
    for i in prompts:
        assert "`guess`" in cs[i]["text"], f"{path.name} cell {i}: say what to write in `guess`"
        nxt = next((c for c in cs[i + 1 :] if c["cell_type"] == "code"), None)
        assert nxt is not None, f"{path.name} cell {i}: no reveal cell"
        assert nxt["text"].lstrip().startswith("guess = None"), f"{path.name} cell {i}: record `guess` first"
        revealed = re.search(r"checks\.prediction\(\s*guess\s*,", nxt["text"])
        assert revealed, f"{path.name} cell {i}: use checks.prediction"
        assert "assert" in nxt["text"], f"{path.name} cell {i}: the reveal needs an assert"


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.stem)
def test_chapter_has_your_turn_cells_each_checked(path):
    """At least two stubs where the student writes the chapter's mechanism, each handed to a check that
    names the mistake (checks.your_turn in the same cell, or a check call in the next code cell), and each
    announced by a `> **Your turn.**` cell before it."""
    cs = cells(path)
    stubs = [i for i, c in enumerate(cs) if c["cell_type"] == "code" and STUB in c["text"]]
    assert len(stubs) >= 2, f"{path.name}: {len(stubs)} 'Your turn' cell(s), need 2"
    for i in stubs:
        nxt = next((c["text"] for c in cs[i + 1 :] if c["cell_type"] == "code"), "")
        checked = "checks.your_turn(" in cs[i]["text"] or re.search(r"checks\.check_\w+\(", nxt)
        assert checked, f"{path.name} cell {i}: a 'Your turn' cell needs a check call"
        before = [c["text"] for c in cs[:i] if c["cell_type"] == "markdown"]
        assert before and "**Your turn.**" in before[-1], f"{path.name} cell {i}: announce it"


def _regions(text: str) -> list[str]:
    """The code between the solution markers of one cell, one string per region (stripped lines, no
    blank or comment lines)."""
    regions, inside, lines = [], False, []
    for line in text.split("\n"):
        if line.strip() == BEGIN:
            inside, lines = True, []
        elif line.strip() == END:
            inside = False
            regions.append("\n".join(x.strip() for x in lines if x.strip() and not x.strip().startswith("#")))
        elif inside:
            lines.append(line)
    return regions


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.stem)
def test_the_students_chapter_contains_no_answer(path):
    """No marker and no answer of the source (solutions/chapters/) is left in the student's chapter."""
    source = ROOT / "solutions" / "chapters" / path.name
    assert source.exists(), f"{path.name} has no source in solutions/chapters/"
    student = "\n".join(x.strip() for c in cells(path) for x in c["text"].split("\n"))
    assert BEGIN not in student and END not in student and "must_pass" not in student
    for region in (r for c in cells(source) for r in _regions(c["text"])):
        assert region and region not in student, f"{path.name}: an answer is visible:\n{region}"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_exercise_set_climbs_and_has_an_integration_task(path):
    """Tasks are headed `## Task k (level): ...`, warm-up then core then stretch, all three present; one
    task is an integration task whose answer is ten or more lines of the student's own code."""
    cs = cells(path)
    levels, integration_lines = [], []
    current = None
    for c in cs:
        heading = TASK.search(c["text"]) if c["cell_type"] == "markdown" else None
        if heading:
            labels = [x.strip() for x in heading.group(1).split(",")]
            levels.append(next((x for x in labels if x in LEVELS), None))
            current = [] if "integration" in labels else None
            if current is not None:
                integration_lines.append(current)
        elif current is not None and c["cell_type"] == "code":
            for region in _regions(c["text"]):
                current.extend(region.split("\n"))
    assert levels and None not in levels, f"{path.name}: label every task with one of {LEVELS}"
    assert set(levels) == set(LEVELS), f"{path.name}: levels {levels}, need warm-up, core and stretch"
    assert levels == sorted(levels, key=LEVELS.index), f"{path.name}: tasks must climb, got {levels}"
    assert any(len(lines) >= 10 for lines in integration_lines), (
        f"{path.name}: no integration task with ten or more lines of the student's code"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_widget_has_questions_beside_it(path):
    cs = cells(path)
    for i, c in enumerate(cs):
        if c["cell_type"] == "code" and ".widget()" in c["text"]:
            assert i + 1 < len(cs) and cs[i + 1]["text"].startswith("> **Try it.**"), (
                f"{path.name} cell {i} shows a widget: the next cell must be a '> **Try it.**' question cell"
            )


@pytest.mark.parametrize("path", [p for p in CHAPTERS if not p.stem.startswith("00")], ids=lambda p: p.stem)
def test_chapter_ends_with_questions_answered_in_the_solutions(path):
    cs = cells(path)
    start = next(
        (i for i, c in enumerate(cs) if c["cell_type"] == "markdown" and "## Questions" in c["text"]), None
    )
    assert start is not None, f"{path.name} has no '## Questions' section"
    text = "\n".join(c["text"] for c in cs[start:] if c["cell_type"] == "markdown")
    n_questions = len(re.findall(r"^\s*\d+\.\s", text, re.MULTILINE))
    assert n_questions >= 3, f"{path.name}: {n_questions} numbered question(s), need 3"
    answers = ROOT / "solutions" / "answers" / f"{path.stem}.md"
    assert answers.exists(), f"answers to {path.name}'s questions belong in {answers.relative_to(ROOT)}"
    assert f"answers/{path.stem}.md" in text, f"{path.name} must link its answers file"
    assert (
        len(re.findall(r"^### Question \d+", answers.read_text(encoding="utf-8"), re.MULTILINE))
        >= n_questions
    )


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_nbval_marker_comments(path):
    for i, c in enumerate(cells(path)):
        if c["cell_type"] == "code":
            assert not NBVAL_COMMENT.search(c["text"]), f"{path.name} cell {i}: use a cell tag, not a comment"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_budget_object_is_not_called_B(path):
    for i, c in enumerate(cells(path)):
        if c["cell_type"] == "code":
            assert not re.search(r"^\s*B\s*=\s*budget\(", c["text"], re.MULTILINE), (
                f"{path.name} cell {i}: call the budget `plan` (B is the block and batch size in the text)"
            )


def _anchors(md: str) -> set[str]:
    """GitHub-style slugs of the markdown headings of a file."""
    out = set()
    for line in md.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            out.add(slug)
    return out


LINKING = CHAPTERS + sorted((ROOT / "solutions").glob("*.ipynb")) + [ROOT / "notebooks" / "README.md"]


@pytest.mark.parametrize("path", LINKING, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_relative_links_resolve(path):
    texts = (
        [c["text"] for c in cells(path) if c["cell_type"] == "markdown"]
        if path.suffix == ".ipynb"
        else [path.read_text(encoding="utf-8")]
    )
    for text in texts:
        for target in MD_LINK.findall(text):
            if target.startswith(("http://", "https://", "mailto:")) or target.startswith("#"):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve()
            assert dest.exists(), f"{path.name}: link to {target} points at a missing file"
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest.read_text(encoding="utf-8")), (
                    f"{path.name}: no heading #{anchor} in {file}"
                )


@pytest.mark.parametrize("index", range(len(CHAPTERS)), ids=lambda i: CHAPTERS[i].stem)
def test_previous_and_next_links_follow_the_chapter_order(index):
    last = cells(CHAPTERS[index])[-1]
    assert last["cell_type"] == "markdown", f"{CHAPTERS[index].name}: end with a navigation cell"
    if index > 0:
        assert re.search(rf"Previous: \[[^\]]+\]\({CHAPTERS[index - 1].name}\)", last["text"]), (
            "Previous link"
        )
    if index + 1 < len(CHAPTERS):
        assert re.search(rf"Next: \[[^\]]+\]\({CHAPTERS[index + 1].name}\)", last["text"]), "Next link"


TIMES = json.loads((ROOT / "benchmarks" / "chapter_times.json").read_text())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_time_line_states_the_measured_running_time(path):
    """The running time a chapter states is the one `benchmarks/course.py --write` measured and recorded,
    and the chapter runs within the 90 s at the ci budget that CONTRIBUTING.md sets."""
    assert path.name in TIMES, f"{path.name} has no measured time: run benchmarks/course.py {path} --write"
    measured = TIMES[path.name]
    header = cells(path)[1]["text"]
    time_line = header.split("**Time.**", 1)[1].split("\n\n", 1)[0]
    for budget in ("laptop", "ci"):
        assert f"`{budget}` {measured[budget]:.0f} s" in time_line, f"{path.name}: Time line out of date"
    assert f"about {max(1, round(measured['laptop'] / 60))} min to run" in time_line
    assert measured["ci"] < 90, f"{path.name} takes {measured['ci']} s at ci, over the 90 s budget"
