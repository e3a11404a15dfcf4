"""Build the course site, ``build/site/index.html``, from the executed notebooks (``make site``).

    python tools/build_site.py                 # run what is missing or stale (NSTLAB_BUDGET), then render
    python tools/build_site.py --no-execute    # render only; fail if an executed copy is missing or stale

Steps: (1) every chapter and exercise set (student version) must have an executed copy made by nbval
(``tools/nbval_record.py``, through ``tools/run_course.py``) from its current bytes at this budget
(``make test-course`` makes them; here the missing or stale ones are run); (2) the copies are staged in
``build/site-src`` with the glossary, the source digest, the READMEs and the answers to the chapter
questions, each widget view replaced by its still picture (below) and helper cells folded; (3) Sphinx +
MyST-NB (``site/conf.py``) render them to ``build/site`` without executing anything.

Widgets: a static page has no kernel, so the ipywidgets that a notebook displayed cannot run there. Under
nbval the picture an ``Output`` widget showed (what ``View`` displayed: the ``update(...)`` figure) is
already an ordinary output of the cell; the widget itself (the cell's result) becomes a note saying how
to run it live, and a widget displayed along the way (a progress bar) is dropped.

Published: chapters, exercise sets as students get them, the gallery (:func:`gallery_page`), glossary,
source digest, the READMEs of
``notebooks/`` and ``exercises/``, and ``solutions/answers/*.md`` (the chapters link them). Each "Your
turn" cell of a chapter is followed by its answer from ``solutions/chapters/``, in a collapsed block
(:func:`with_solutions`). Not published: the worked solution notebooks of the exercise sets
(``solutions/*.ipynb``).
"""

from __future__ import annotations

import argparse
import copy
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_exercises  # noqa: E402
import run_course  # noqa: E402

ROOT = run_course.ROOT
STAGE = ROOT / "build" / "site-src"
SITE = ROOT / "build" / "site"
CONF = ROOT / "site"
PAGES = (
    "notebooks/glossary.md",
    "notebooks/source_digest.md",
    "notebooks/README.md",
    "exercises/README.md",
    "solutions/answers/*.md",
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MD_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\(([^)\s]+)\)")
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# inline code naming a module and one of its names, with or without a call: `stats.gram(F, ...)`
API_NAME = re.compile(
    r"(?<![`{\[])`((?:nstlab\.)?([a-z_]+)\.([A-Za-z_][A-Za-z0-9_]*)(?:\([^`<]*\))?)`(?![`\]])"
)
LIVE_NOTE = (  # MyST (site/conf.py renders markdown outputs as MyST): an admonition box
    ":::{admonition} Instructor widget: a still picture\n:class: note\n"
    "This is the widget's first state. A static page has no Python kernel: to move the controls, open "
    "this chapter in JupyterLab (`make lab`) and run its cells.\n:::"
)


# ----------------------------------------------------------------------------------------------------
# Widgets -> pictures
# ----------------------------------------------------------------------------------------------------


def widgets_to_pictures(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without widget views (no page loads the ipywidgets scripts, which live on a CDN):
    the widget a cell returns becomes :data:`LIVE_NOTE` below its picture, other widgets (progress bars)
    are dropped."""
    nb = copy.deepcopy(nb)
    note = nbformat.v4.new_output("display_data", data={"text/markdown": LIVE_NOTE})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if WIDGET_VIEW not in out.get("data", {}):
                outputs.append(out)
            elif out.output_type == "execute_result":
                outputs.append(copy.deepcopy(note))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


def fold_helper_cells(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Helper cells (source hidden in JupyterLab, or tagged ``helper``) show folded (``hide-input``)."""
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        hidden = meta.get("jupyter", {}).get("source_hidden", False) or "helper" in tags
        if cell.cell_type == "code" and hidden and "hide-input" not in tags:
            meta["tags"] = [*tags, "hide-input"]
    return nb


def solution_block(code: str) -> nbformat.NotebookNode:
    """A markdown cell with ``code`` in a collapsed ``<details>`` block (the page shows "Solution"; a click
    opens it)."""
    fence = "```"
    while fence in code:
        fence += "`"
    opening = '<details class="solution">\n<summary>Solution</summary>'
    return nbformat.v4.new_markdown_cell(f"{opening}\n\n{fence}python\n{code.strip()}\n{fence}\n\n</details>")


def with_solutions(nb: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """After each "Your turn" cell of a student chapter (a stub: ``# YOUR CODE HERE``), the answer of its
    source cell (same cell id; ``solutions/chapters/``) in a collapsed block."""
    answers = {cell.get("id"): cell for cell in source.cells if cell.cell_type == "code"}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        answer = answers.get(cell.get("id"))
        if cell.cell_type == "code" and make_exercises.CODE_STUB[0] in cell.source and answer is not None:
            code = "\n".join(
                line
                for line in make_exercises.unassert_checks(answer.source).split("\n")
                if line.strip() not in (make_exercises.BEGIN, make_exercises.END)
            )
            cells.append(solution_block(code))
    nb.cells = cells
    return nb


def repository_links_to_text(text: str, page: str, published: set[str]) -> str:
    """Links from ``page`` to files of the repository that the site does not publish (``../solutions/``,
    ``../nstlab/stats.py``) become text naming the path: a static site has no such page to open."""

    def replace(match: re.Match) -> str:
        label, target = match.groups()
        if URL_SCHEME.match(target) or target.startswith("#"):
            return match.group(0)
        path = target.split("#", 1)[0]
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
        if resolved in published:
            return match.group(0)
        shown = resolved + ("/" if path.endswith("/") else "")
        return f"{label} (in the course repository: `{shown}`)"

    return MD_LINK.sub(replace, text)


# ----------------------------------------------------------------------------------------------------
# API reference
# ----------------------------------------------------------------------------------------------------


def public_modules() -> dict[str, list[str]]:
    """nstlab's public modules (not ``_private``), each with its public names (``__all__``)."""
    import importlib
    import pkgutil

    import nstlab

    modules = {}
    for info in sorted(pkgutil.iter_modules(nstlab.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            modules[info.name] = list(importlib.import_module(f"nstlab.{info.name}").__all__)
    return modules


def api_pages(modules: dict[str, list[str]]) -> dict[str, str]:
    """The API reference: ``api/index.md`` and one page per module, rendered by Sphinx autodoc from the
    docstrings (every name of the module's ``__all__``, in source order)."""
    rows = "\n".join(
        f"- [`nstlab.{m}`](nstlab.{m}.md): {len(names)} public names" for m, names in modules.items()
    )
    pages = {
        "api/index.md": "# API reference\n\nOne page per module of `nstlab`, generated from the docstrings: "
        "every public name, its signature and what it computes, with the source it comes from.\n\n"
        f"{rows}\n\n```{{toctree}}\n:hidden:\n\n" + "\n".join(f"nstlab.{m}" for m in modules) + "\n```\n"
    }
    for module in modules:
        pages[f"api/nstlab.{module}.md"] = (
            f"# `nstlab.{module}`\n\n```{{eval-rst}}\n.. automodule:: nstlab.{module}\n   :members:\n"
            "   :member-order: bysource\n```\n"
        )
    return pages


def api_links(text: str, modules: dict[str, list[str]]) -> str:
    """Inline code naming a public function (`` `stats.gram` ``, `` `decoders.stylize_fast(c, s)` ``,
    `` `nstlab.stats.gram` ``) becomes a link to its reference entry (a MyST ``{py:obj}`` role)."""

    def replace(match: re.Match) -> str:
        code, module, name = match.group(1), match.group(2), match.group(3)
        if name not in modules.get(module, ()):
            return match.group(0)
        return f"{{py:obj}}`{code} <nstlab.{module}.{name}>`"

    return API_NAME.sub(replace, text)


# ----------------------------------------------------------------------------------------------------
# Staging and rendering
# ----------------------------------------------------------------------------------------------------


def gallery_page(root: Path) -> tuple[str, list[Path]]:
    """The gallery page (``gallery.md``): each figure of ``gallery/`` under its chapter, with its caption
    from its json (:func:`nstlab.gallery.caption`), and the pictures it shows."""
    from nstlab import gallery

    folder = root / "gallery"
    lines = [
        "# Gallery: the effects, converged",
        "",
        "The chapters run their experiments at a small budget, where several effects are faint. Each figure "
        "here shows one claim of the course at a size and step count where the optimization has converged, "
        "beside its control (the same pictures with one knob changed); each chapter shows its figures next "
        "to its live experiment. The numbers in the captions are measured by the command that made the "
        "figure and read from its json (`gallery/<name>.json`); `make gallery` makes them all again.",
    ]
    chapters = {p.name[:2]: p.name for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    pictures, chapter = [], None
    for name, fig in sorted(gallery.FIGURES.items(), key=lambda item: item[1].chapter):
        if fig.chapter != chapter:
            chapter = fig.chapter
            lines += ["", f"## [Chapter {chapter}](notebooks/{chapters[chapter]})"]
        entry = gallery.record(name, folder)
        pictures.append(folder / entry["picture"]["file"])
        lines += ["", f"(gallery-{name})=", f"### {fig.claim}", ""]
        lines += [f"![{fig.claim}](gallery/{pictures[-1].name})", ""]
        lines.append(gallery.caption(name, folder).removeprefix(f"{fig.claim} "))
    return "\n".join(lines) + "\n", pictures


def _write_if_changed(path: Path, text: str) -> None:
    """Write only changed files, so Sphinx re-reads only what changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def stage(root: Path, executed: Path, stage_dir: Path, notebooks: list[Path]) -> list[Path]:
    """Fill ``stage_dir`` with the site's sources; return the staged files."""
    pages = [page for pattern in PAGES for page in sorted(root.glob(pattern))]
    published = {p.relative_to(root).as_posix() for p in [*notebooks, *pages]}
    staged = [stage_dir / "index.md"]
    _write_if_changed(staged[0], (CONF / "index.md").read_text(encoding="utf-8"))
    modules = public_modules()
    for source in notebooks:
        name = source.relative_to(root).as_posix()
        nb = fold_helper_cells(
            widgets_to_pictures(nbformat.read(run_course.executed_path(source, executed, root), 4))
        )
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = api_links(repository_links_to_text(cell.source, name, published), modules)
        chapter_source = root / "solutions" / "chapters" / source.name
        if source.parent.name == "notebooks" and chapter_source.exists():
            nb = with_solutions(nb, nbformat.read(chapter_source, 4))
        staged.append(stage_dir / name)
        _write_if_changed(staged[-1], nbformat.writes(nb))
    for page in pages:
        name = page.relative_to(root).as_posix()
        staged.append(stage_dir / name)
        text = repository_links_to_text(page.read_text(encoding="utf-8"), name, published)
        _write_if_changed(staged[-1], api_links(text, modules))
    for name, text in api_pages(modules).items():
        staged.append(stage_dir / name)
        _write_if_changed(staged[-1], text)
    text, pictures = gallery_page(root)
    staged.append(stage_dir / "gallery.md")
    _write_if_changed(staged[-1], text)
    for picture in pictures:
        staged.append(stage_dir / "gallery" / picture.name)
        if not staged[-1].exists() or staged[-1].read_bytes() != picture.read_bytes():
            staged[-1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(picture, staged[-1])
    for old in [p for p in stage_dir.rglob("*") if p.is_file() and p not in staged]:
        old.unlink()
    return staged


def render(stage_dir: Path, site: Path, budget: str, warnings: Path, mathjax: Path) -> int:
    """Run Sphinx (HTML builder) on the staged sources; its warnings go to ``warnings``; ``mathjax`` is
    the npm package's ``es5`` folder (``make site-assets``)."""
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-c",
        str(CONF),
        "-d",
        str(site.parent / "site-doctrees"),
    ]
    cmd += ["--keep-going", "-q", "-w", str(warnings), str(stage_dir), str(site)]
    env = dict(os.environ, NSTLAB_BUDGET=budget, NSTLAB_MATHJAX=str(mathjax))
    return subprocess.run(cmd, env=env, check=False).returncode


def ensure_executed(root: Path, executed: Path, notebooks: list[Path], execute: bool) -> list[str]:
    """Run the notebooks whose executed copy is missing or stale (with nbval); return the problems left."""
    stale = [source for source in notebooks if not run_course.is_fresh(source, executed, root)]
    if not execute:
        return [f"{s.relative_to(root)}: no up-to-date executed copy (run `make test-course`)" for s in stale]
    problems = []
    for result in run_course.run(stale, executed, root) if stale else []:
        name = result.source.relative_to(root)
        print(f"{'ran' if result.ok else 'FAILED'} {name} in {result.seconds:.0f} s", flush=True)
        if not result.ok:
            problems.append(result.error or "")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-execute", action="store_true", help="render only; fail on a stale copy")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course checkout (default: this one)")
    parser.add_argument("--out", type=Path, default=None, help="site folder (default: ROOT/build/site)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NSTLAB_BUDGET", "ci")
    root = args.root.resolve()
    build = root / "build"
    executed, site = build / "executed", (args.out or build / "site").resolve()
    notebooks = run_course.course_notebooks(root)
    problems = ensure_executed(root, executed, notebooks, execute=not args.no_execute)
    if problems:
        print("\n".join(["site not built:", *problems]), file=sys.stderr)
        return 1
    stage(root, executed, build / "site-src", notebooks)
    warnings = build / "site-warnings.txt"
    mathjax = build / "npm" / "node_modules" / "mathjax" / "es5"
    code = render(build / "site-src", site, os.environ["NSTLAB_BUDGET"], warnings, mathjax)
    n_warnings = len(warnings.read_text(encoding="utf-8").splitlines()) if warnings.exists() else 0
    print(f"site: {site / 'index.html'} ({n_warnings} Sphinx warning lines in {warnings.relative_to(root)})")
    return code


if __name__ == "__main__":
    sys.exit(main())
