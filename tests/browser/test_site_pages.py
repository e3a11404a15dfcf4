"""The built site (``make site``: build/site) read in Chromium as a reader meets it, offline: every page
opens with no failed request and no request to another host, math typeset, a figure on every chapter page,
every internal link resolving, search working. Screenshots of two pages go to build/screenshots/.

The checker is tested too: a copy of the site with one internal link broken, and one with the math engine
pointed at a CDN, must each be reported."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import sitecheck

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

SITE = Path(os.environ.get("NSTLAB_SITE", ROOT / "build" / "site"))
SCREENSHOTS = ROOT / "build" / "screenshots"
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml-full.js"


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        message = f"no site in {SITE}: run `make site` first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SITE


def chapter_pages(site: Path) -> list[str]:
    return [p for p in sitecheck.site_pages(site) if sitecheck.CHAPTER.match(p)]


def showcase(site: Path) -> tuple[str, str]:
    """The first chapter page that shows an instructor widget's still, and a selector of that still
    (else the first chapter and its first figure)."""
    chapters = chapter_pages(site)
    with_widget = [p for p in chapters if "Instructor widget" in (site / p).read_text(encoding="utf-8")]
    return (with_widget[0], "div.admonition") if with_widget else (chapters[0], ".cell_output img")


def test_every_page_reads_offline(browser, site):
    chapter, near = showcase(site)
    shots = {
        "index.html": (SCREENSHOTS / "site_index.png", None),
        chapter: (SCREENSHOTS / "site_chapter.png", near),
    }
    report = sitecheck.check_site(browser, site, screenshots=shots)
    print(
        f"{len(report.pages)} pages, {report.links_checked} links, {report.math_elements} math elements, "
        f"{report.figures} figures; screenshots: {', '.join(str(p) for p, _ in shots.values())}"
    )
    assert len(chapter_pages(site)) >= 12, "every chapter has a page"
    assert not report.problems, "\n".join(report.problems[:40])
    assert all(path.is_file() for path, _ in shots.values())


@pytest.fixture(scope="module")
def site_copy(site, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("site") / "site"
    shutil.copytree(site, copy)
    return copy


def test_checker_reports_a_broken_internal_link(browser, site_copy):
    page = chapter_pages(site_copy)[1]
    html = (site_copy / page).read_text(encoding="utf-8")
    link = re.search(r'<a class="reference internal" href="([^"#]+\.html)', html)
    assert link, f"{page} has no internal link to break"
    (site_copy / page).write_text(
        html.replace(link.group(0), link.group(0).replace(link.group(1), "gone.html"))
    )
    report = sitecheck.check_site(browser, site_copy, pages=[page])
    assert any("broken link to notebooks/gone.html" in p for p in report.problems), report.problems


def test_checker_reports_math_from_a_cdn(browser, site_copy):
    page = next(p for p in chapter_pages(site_copy)[2:] if "mathjax/tex-chtml" in (site_copy / p).read_text())
    html = (site_copy / page).read_text(encoding="utf-8")
    local = re.search(r'src="([^"]*_static/mathjax/tex-chtml-full\.js[^"]*)"', html).group(1)
    (site_copy / page).write_text(html.replace(local, CDN_MATHJAX), encoding="utf-8")
    report = sitecheck.check_site(browser, site_copy, pages=[page])
    assert any("request to another host: " + CDN_MATHJAX in p for p in report.problems), report.problems
    assert any("not typeset" in p for p in report.problems), report.problems


def test_api_reference_has_an_entry_for_every_public_name_and_search_finds_them(browser, site):
    """One page per public module (tools/build_site.py's api pages), an entry (an anchor the chapters' links
    use) for every name of the module's ``__all__`` defined there, and the site's search finds a function
    by its name."""
    for module, names in build_site.public_modules().items():
        page = site / "api" / f"nstlab.{module}.html"
        assert page.is_file(), f"no API page for nstlab.{module}"
        html = page.read_text(encoding="utf-8")
        namespace = importlib.import_module(f"nstlab.{module}")
        # data a package re-exports (checks.TIE_RULE) carries no docstring autodoc can find: not listed
        package = hasattr(namespace, "__path__")
        entries = [n for n in names if not (package and not callable(getattr(namespace, n)))]
        missing = [n for n in entries if f'id="nstlab.{module}.{n}"' not in html]
        assert not missing, f"nstlab.{module}: no reference entry for {missing}"
    chapter = (site / "notebooks" / "10_fast_feedforward.html").read_text(encoding="utf-8")
    assert "../api/nstlab.decoders.html#nstlab.decoders.stylize_fast" in chapter, (
        "chapters link the reference"
    )
    assert not sitecheck.search_problems(browser, site, "stylize_fast", "api/nstlab.decoders.html")


def test_each_your_turn_stub_has_a_collapsed_solution_that_opens(browser, site):
    """Chapter 03 as a reader meets it: the stub shows, its answer below it is hidden in a closed
    "Solution" block, and a click on the block opens it and shows the code of the answer."""
    with sitecheck.serve(site) as base:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{base}/notebooks/03_content_and_gatys.html")
            blocks = page.locator("details.solution")
            assert blocks.count() >= 2, "each 'Your turn' stub needs its solution block"
            first = blocks.first
            assert "raise NotImplementedError()" in page.locator("body").inner_text()
            assert first.get_attribute("open") is None, "the solution starts closed"
            assert not first.locator("pre").first.is_visible(), "a closed solution must not show its code"
            first.locator("summary").click()
            assert first.get_attribute("open") is not None
            code = first.locator("pre").first
            assert code.is_visible() and "def content_loss" in code.inner_text()
            assert "BEGIN SOLUTION" not in code.inner_text()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            first.screenshot(path=str(SCREENSHOTS / "site_solution.png"))
        finally:
            context.close()


def test_gallery_page_shows_every_figure_with_its_measured_caption(browser, site):
    """The gallery page as a reader meets it: one loaded picture per figure, each captioned with the
    numbers of its json, and the chapter pages show their gallery figures too."""
    from nstlab import gallery

    with sitecheck.serve(site) as base:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{base}/gallery.html")
            page.wait_for_load_state("networkidle")
            widths = page.eval_on_selector_all("main img", "imgs => imgs.map(i => i.naturalWidth)")
            assert len(widths) >= len(gallery.FIGURES) and all(w > 0 for w in widths)
            text = page.locator("body").inner_text().replace("\u2019", "'")  # Sphinx's smart quotes
            for name in gallery.FIGURES:
                entry = gallery.record(name)
                assert entry["caption"][-60:] in text, f"the caption of {name} is not on the page"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "site_gallery.png"))
            page.goto(f"{base}/notebooks/04_layers_and_receptive_fields.html")
            assert "Gallery, converged" in page.locator("body").inner_text()
        finally:
            context.close()
