"""The site tooling without a browser: the course runner (tools/run_course.py), the staging of executed
notebooks for Sphinx (tools/build_site.py: widgets to stills, repository links, helper cells), the
nbgrader metadata (tools/nbgrader_course.py) and the link check of the browser test (sitecheck)."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import build_site  # noqa: E402
import nbgrader_course  # noqa: E402
import run_course  # noqa: E402
import sitecheck  # noqa: E402


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_links_to_unpublished_repository_files_become_text():
    published = {"notebooks/01_gram.ipynb", "notebooks/glossary.md", "solutions/answers/01_gram.md"}
    text = (
        "[next](01_gram.ipynb) [term](glossary.md#l-bfgs) [answers](../solutions/answers/01_gram.md) "
        "[here](#top) [web](https://example.org/x.py) ![fig](../nstlab/data/x.png) "
        "[code](../nstlab/stats.py) [all](../solutions/)"
    )
    out = build_site.repository_links_to_text(text, "notebooks/00_start.ipynb", published)
    kept = "[next](01_gram.ipynb) [term](glossary.md#l-bfgs) [answers](../solutions/answers/01_gram.md) "
    kept += "[here](#top) [web](https://example.org/x.py) ![fig](../nstlab/data/x.png) "
    assert out.startswith(kept)
    assert out.endswith(
        "code (in the course repository: `nstlab/stats.py`) all (in the course repository: `solutions/`)"
    )


def test_helper_cells_are_folded():
    hidden = nbformat.v4.new_code_cell("plot()", metadata={"jupyter": {"source_hidden": True}})
    tagged = nbformat.v4.new_code_cell("plot()", metadata={"tags": ["helper"]})
    plain = nbformat.v4.new_code_cell("x = 1")
    nb = build_site.fold_helper_cells(nbformat.v4.new_notebook(cells=[hidden, tagged, plain]))
    assert [c.metadata.get("tags", []) for c in nb.cells] == [["hide-input"], ["helper", "hide-input"], []]


def test_each_your_turn_cell_is_followed_by_its_collapsed_answer():
    """The stub stays as the student sees it; below it, the source's answer (markers and must_pass gone)
    in a <details> block; a cell without a stub gets nothing."""
    import make_exercises

    answer = (
        "def gram(F):\n    ### BEGIN SOLUTION\n    return F @ F.T\n    ### END SOLUTION\n\n\n"
        "gram = checks.your_turn(gram, checks.check_gram, library=stats.gram, must_pass=True)"
    )
    source = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(answer), nbformat.v4.new_code_cell("x")]
    )
    for i, cell in enumerate(source.cells):
        cell["id"] = f"c{i}"
    student = make_exercises.make_exercise(source)
    staged = build_site.with_solutions(student, source)
    assert [c.cell_type for c in staged.cells] == ["code", "markdown", "code"]
    assert "raise NotImplementedError()" in staged.cells[0].source
    block = staged.cells[1].source
    assert block.startswith('<details class="solution">\n<summary>Solution</summary>')
    assert "return F @ F.T" in block and "BEGIN SOLUTION" not in block and "must_pass" not in block
    assert block.rstrip().endswith("</details>")


def test_fingerprint_changes_with_the_bytes_and_the_budget(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_text("one")
    first = run_course.fingerprint(path, "ci")
    assert first != run_course.fingerprint(path, "laptop")
    path.write_text("two")
    assert first != run_course.fingerprint(path, "ci")


def test_fingerprint_changes_with_the_library(tmp_path):
    library = tmp_path / "nstlab"
    (library / "data").mkdir(parents=True)
    (library / "stats.py").write_text("G = 1")
    (library / "data" / "d.json").write_text("{}")
    path = tmp_path / "a.ipynb"
    path.write_text("one")
    first = run_course.fingerprint(path, "ci", library)
    (library / "stats.py").write_text("G = 2")
    second = run_course.fingerprint(path, "ci", library)
    (library / "data" / "d.json").write_text('{"sha256": "x"}')
    assert len({first, second, run_course.fingerprint(path, "ci", library)}) == 3


def _write(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_under_nbval_the_widget_a_cell_returns_becomes_a_note_below_its_picture():
    """An nbval copy has no widget state: the Output widget's figure is already an output of the cell, the
    widget the cell returns becomes the note, and a widget shown along the way (a progress bar) goes."""
    view = {build_site.WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": "abc"}}
    cell = nbformat.v4.new_code_cell("demo.widget()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=view),
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png_bytes()).decode()}),
        nbformat.v4.new_output("execute_result", data=view, execution_count=1),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    staged = build_site.widgets_to_pictures(nb)
    assert "widgets" not in staged.metadata, "no widget state left: no page loads the widget scripts"
    outputs = staged.cells[0].outputs
    assert [list(o.data) for o in outputs] == [["image/png"], ["text/markdown"]]
    assert "make lab" in outputs[1].data["text/markdown"]


def test_nbval_keeps_an_executed_copy_with_figures_and_honours_its_tags(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as tests/conftest.py sets it: must not reach the kernel
    monkeypatch.setenv("NSTLAB_BUDGET", "ci")
    source = _write(
        tmp_path / "notebooks" / "01_x.ipynb",
        "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()",
        "1 / 0",
        "raise ValueError('expected')",
        "print('end')",
        tags={1: ["nbval-skip"], 2: ["raises-exception"]},
    )
    (result,) = run_course.run([source], tmp_path / "out", tmp_path)
    assert result.ok, result.error
    nb = nbformat.read(result.executed, as_version=4)
    assert result.executed == tmp_path / "out" / "notebooks" / "01_x.ipynb"
    assert any("image/png" in o.get("data", {}) for o in nb.cells[0].outputs), "the figure is kept"
    assert nb.cells[1].outputs == [], "an nbval-skip cell is not run"
    assert nb.cells[2].outputs[0].ename == "ValueError"
    assert nb.cells[3].outputs[0].text == "end\n"
    assert nb.metadata["nstlab_run"]["budget"] == "ci" and result.seconds > 0
    assert run_course.is_fresh(source, tmp_path / "out", tmp_path, budget="ci")
    assert not run_course.is_fresh(source, tmp_path / "out", tmp_path, budget="laptop")


def test_a_failed_notebook_is_named_with_its_cell_and_leaves_no_copy(tmp_path):
    good = _write(tmp_path / "notebooks" / "01_ok.ipynb", "print('fine')")
    bad = _write(tmp_path / "exercises" / "02_y.ipynb", "x = 1", "x / 0", "print('after')")
    stale = run_course.executed_path(bad, tmp_path / "out", tmp_path)
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    ok, failed = run_course.run([good, bad], tmp_path / "out", tmp_path)
    assert ok.ok and ok.executed.exists(), "one failed notebook does not cost the others their copies"
    assert not failed.ok and "exercises/02_y.ipynb::Cell 1" in failed.error
    assert not stale.exists(), "a failed run leaves no executed copy"


def test_a_cell_past_the_timeout_fails(tmp_path):
    source = _write(tmp_path / "notebooks" / "03_z.ipynb", "import time\ntime.sleep(60)")
    (result,) = run_course.run([source], tmp_path / "out", tmp_path, timeout=3)
    assert not result.ok and "03_z.ipynb::Cell 0" in result.error


def test_nbgrader_roles_from_the_markers():
    solution = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Set"),
            nbformat.v4.new_markdown_cell("<!-- SOLUTION ONLY -->\nthe worked version"),
            nbformat.v4.new_code_cell(
                "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
            ),
            nbformat.v4.new_code_cell("assert checks.check_f(f)"),
            nbformat.v4.new_markdown_cell(
                "**Your answer:**\n\n### BEGIN SOLUTION\nbecause\n### END SOLUTION"
            ),
            nbformat.v4.new_code_cell("checks.check_f(f)  # printed, not graded"),
        ]
    )
    for i, cell in enumerate(solution.cells):
        cell["id"] = f"c{i:02d}"
    source = nbgrader_course.nbgrader_source(solution)
    roles = [c.metadata.get("nbgrader", {}) for c in source.cells]
    assert len(source.cells) == 5, "the solution-only cell is dropped"
    assert [(r.get("solution"), r.get("grade"), r.get("locked")) for r in roles] == [
        (None, None, None),
        (True, False, False),
        (False, True, True),
        (True, True, False),
        (None, None, None),
    ]
    assert [r.get("grade_id") for r in roles if r] == ["answer-c02", "test-c03", "written-c04"]
    nbgrader_format = pytest.importorskip("nbgrader.nbgraderformat")
    nbgrader_format.MetadataValidator().validate_nb(source)


def test_link_check_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "index.html").write_text('<h1 id="top">x</h1>')
    (tmp_path / "notebooks" / "a.html").write_text('<section id="gram-matrix"></section>')
    (tmp_path / "_static" / "x.html").write_text("")
    assert sitecheck.site_pages(tmp_path) == ["index.html", "notebooks/a.html"]
    base = "http://127.0.0.1:8000/"
    links = [
        base + "notebooks/a.html#gram-matrix",
        base + "index.html#top",
        base,
        "https://example.org/missing.html",
        base + "notebooks/b.html",
        base + "notebooks/a.html#l-bfgs",
    ]
    problems = sitecheck.broken_links(tmp_path, base, "index.html", links, {})
    assert problems == [
        "index.html: broken link to notebooks/b.html (no such file)",
        "index.html: broken link to notebooks/a.html#l-bfgs (no such anchor)",
    ]


def test_binder_installs_the_package_and_fetches_the_weights_at_build_time():
    import os
    import re
    import subprocess

    requirements = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"(-e\s+)?\.", line.strip()) for line in requirements), "install this package"
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when it is executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    assert re.search(r"^nstlab weights fetch\b", post_build.read_text(), re.MULTILINE)


def test_api_pages_cover_every_public_module_and_chapter_names_link_to_them():
    modules = build_site.public_modules()
    assert {"stats", "transforms", "losses", "decoders", "checks", "validation"} <= set(modules)
    assert not any(m.startswith("_") for m in modules)
    pages = build_site.api_pages(modules)
    assert set(pages) == {"api/index.md", *(f"api/nstlab.{m}.md" for m in modules)}
    assert all(f"automodule:: nstlab.{m}" in pages[f"api/nstlab.{m}.md"] for m in modules)
    text = '`stats.gram(F, normalize="cn")`, `decoders.stylize_fast`, `x.shape`, [`stats.gram`](a.md), '
    text += "``stats.gram``"
    linked = build_site.api_links(text, modules)
    assert linked.startswith('{py:obj}`stats.gram(F, normalize="cn") <nstlab.stats.gram>`')
    assert "{py:obj}`decoders.stylize_fast <nstlab.decoders.stylize_fast>`" in linked
    assert "`x.shape`" in linked and "[`stats.gram`](a.md)" in linked and "``stats.gram``" in linked


def test_gallery_page_has_every_figure_under_its_chapter_with_its_json_caption():
    from nstlab import gallery

    text, pictures = build_site.gallery_page(ROOT)
    assert sorted(p.stem for p in pictures) == sorted(gallery.FIGURES)
    for name, fig in gallery.FIGURES.items():
        entry = gallery.record(name)
        assert f"](gallery/{entry['picture']['file']})" in text
        assert entry["caption"] in text  # the numbers come from the json
        chapter_link = text.index(f"## [Chapter {fig.chapter}](notebooks/")
        assert chapter_link < text.index(f"(gallery-{name})=")
    for link in {line.split("](", 1)[1].rstrip(")") for line in text.splitlines() if line.startswith("## [")}:
        assert (ROOT / link).exists(), link
