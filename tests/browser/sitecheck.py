"""What a reader's browser must find on every page of the built site (used by test_site_pages.py).

:func:`check_site` serves a site folder on a loopback port, opens every page in Chromium and returns the
problems: a request that failed or went to another host (such requests are recorded and aborted, never
sent), a script error, math not typeset (the ``.math`` elements Sphinx writes must hold the engine's
output, with no TeX error and no raw ``$...$`` or ``\\(`` left in the text), a chapter page with no
figure, an image that did not load, an internal link to a missing file or anchor, a search that finds
nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SKIP_DIRS = ("_static", "_sources", "_images", "_downloads", ".doctrees")
CHAPTER = re.compile(r"^notebooks/\d\d_[^/]+\.html$")
STATIC_ID = re.compile(r"""\bid=["']([^"']+)["']""")
RAW_MATH = re.compile(r"\$[^\s$][^$\n]{0,300}?\$|\\\(|\\\[")
SEARCH_TERM = "gram"

# The math engines' rendered elements and error markers (MathJax 2 CommonHTML, MathJax 3/4, KaTeX).
RENDERED = ".MathJax_CHTML, .MathJax, .MathJax_Display, .MathJax_SVG, mjx-container, .katex"
MATH_ERRORS = ".mjx-merror, .MathJax_Error, mjx-merror, .katex-error, .merror"

WAIT_FOR_MATH = """async () => {
  for (let i = 0; i < 200 && !(window.MathJax && (window.MathJax.Hub || window.MathJax.startup)); i++)
    await new Promise(r => setTimeout(r, 50));
  if (!window.MathJax || !(window.MathJax.Hub || window.MathJax.startup)) return false;  // never loaded
  if (window.MathJax.startup) { await window.MathJax.startup.promise; return true; }
  await new Promise(r => window.MathJax.Hub.Register.StartupHook('End', r));
  await new Promise(r => window.MathJax.Hub.Queue(r));
  return true;
}"""

PAGE_FACTS = """([rendered, errors]) => {
  const main = document.querySelector('main') || document.body;
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'KBD', 'SAMP']);
  const skipClass = ['highlight', 'MathJax_Preview', 'MJX_Assistive_MathML', 'cell_input'];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode(n) {
    for (let e = n.parentElement; e && e !== main.parentElement; e = e.parentElement)
      if (skip.has(e.tagName) || skipClass.some(c => e.classList.contains(c)))
        return NodeFilter.FILTER_REJECT;
    return NodeFilter.FILTER_ACCEPT;
  }});
  let text = '';
  while (walker.nextNode()) text += walker.currentNode.nodeValue + ' ';
  const math = [...document.querySelectorAll('.math')];
  const images = [...document.querySelectorAll('img')];
  return {
    text,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    math: math.length,
    unrendered: math.filter(m => !m.querySelector(rendered)).length,
    mathErrors: document.querySelectorAll(errors).length,
    figures: images.filter(i => i.closest('.cell_output, .output') && i.naturalWidth > 0).length,
    brokenImages: images.filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute('src')),
  };
}"""


@dataclass
class Report:
    """Pages opened, problems found, and counts for the test's summary."""

    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    links_checked: int = 0
    math_elements: int = 0
    figures: int = 0


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, as paths relative to it (index.html first)."""
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not any(part in SKIP_DIRS for part in p.relative_to(site).parts)
    )
    return sorted(pages, key=lambda p: p != "index.html")


def _ids(site: Path, page: str, cache: dict[str, set[str]]) -> set[str]:
    if page not in cache:
        path = site / page
        cache[page] = set(STATIC_ID.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()
    return cache[page]


def broken_links(site: Path, base: str, page: str, links: list[str], ids: dict[str, set[str]]) -> list[str]:
    """Internal links of ``page`` whose file or anchor does not exist in ``site``."""
    local = urlsplit(base).netloc
    problems = []
    for link in links:
        url = urlsplit(link)
        if url.scheme not in ("http", "https") or url.netloc != local:
            continue
        target = unquote(url.path).lstrip("/")
        if target == "" or target.endswith("/"):
            target += "index.html"
        if not (site / target).is_file():
            problems.append(f"{page}: broken link to {target} (no such file)")
        elif (
            url.fragment and target.endswith(".html") and unquote(url.fragment) not in _ids(site, target, ids)
        ):
            problems.append(f"{page}: broken link to {target}#{url.fragment} (no such anchor)")
    return problems


def _page_problems(page: str, facts: dict, math_ok: bool) -> list[str]:
    problems = []
    if facts["math"] and (not math_ok or facts["unrendered"]):
        problems.append(f"{page}: {facts['unrendered']} of {facts['math']} math elements not typeset")
    if facts["mathErrors"]:
        problems.append(f"{page}: {facts['mathErrors']} TeX errors in the typeset math")
    raw = RAW_MATH.findall(facts["text"])
    if raw:
        problems.append(f"{page}: raw math left in the text: {raw[:3]}")
    if CHAPTER.match(page) and facts["figures"] < 1:
        problems.append(f"{page}: a chapter page with no figure")
    problems += [f"{page}: image did not load: {src}" for src in facts["brokenImages"]]
    return problems


def _check_search(context, base: str, term: str = SEARCH_TERM, expected: str | None = None) -> list[str]:
    """Problems of the site's search for ``term``: no result, or (``expected`` given) no result linking
    to that page."""
    page = context.new_page()
    try:
        page.goto(f"{base}search.html?q={term}", wait_until="load")
        page.wait_for_selector("#search-results li, ul.search li", timeout=20_000)
        hrefs = page.eval_on_selector_all(
            "#search-results li a, ul.search li a", "els => els.map(e => e.href)"
        )
        if expected and not any(expected in href for href in hrefs):
            return [f"search.html?q={term}: no result on {expected} among {hrefs[:5]}"]
        return []
    except Exception as exc:  # noqa: BLE001 (a timeout is the finding)
        return [f"search.html?q={term}: no result ({type(exc).__name__})"]
    finally:
        page.close()


def search_problems(browser, site: Path, term: str, expected: str) -> list[str]:
    """Serve ``site`` and search it for ``term``; problems if no result links to the page ``expected``."""
    with serve(site) as base:
        context = browser.new_context()
        try:
            return _check_search(context, base, term, expected)
        finally:
            context.close()


def _screenshot(page, path: Path, near: str | None = None) -> None:
    """Save the viewport (1280 x 900) as PNG, scrolled so that the first ``near`` element shows below
    what precedes it (the top of the page when None or absent)."""
    target = page.locator(near).first if near else None
    if target is not None and target.count():
        target.scroll_into_view_if_needed()
        page.evaluate("() => window.scrollBy(0, -450)")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def check_site(
    browser,
    site: Path,
    pages: list[str] | None = None,
    screenshots: dict[str, tuple[Path, str | None]] | None = None,
) -> Report:
    """Open ``pages`` (default: all) of ``site`` in a fresh browser context and return a :class:`Report`.

    ``screenshots`` maps page -> (PNG path, CSS selector to scroll to or None), saved after the check.
    """
    report = Report()
    ids: dict[str, set[str]] = {}
    current = {"page": ""}
    with serve(site) as base:
        local = urlsplit(base).netloc
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r):
            if urlsplit(r.request.url).netloc == local or r.request.url.startswith("data:"):
                r.continue_()
            else:
                report.problems.append(f"{current['page']}: request to another host: {r.request.url}")
                r.abort()

        context.route("**/*", route)
        for page_name in pages or site_pages(site):
            current["page"] = page_name
            report.pages.append(page_name)
            page = context.new_page()
            page.on("pageerror", lambda e, n=page_name: report.problems.append(f"{n}: script error: {e}"))
            page.on(
                "requestfailed",
                lambda r, n=page_name: (
                    urlsplit(r.url).netloc == local
                    and report.problems.append(f"{n}: request failed: {r.url} ({r.failure})")
                ),
            )
            page.on(
                "response",
                lambda r, n=page_name: (
                    r.status >= 400 and report.problems.append(f"{n}: HTTP {r.status} for {r.url}")
                ),
            )
            page.goto(base + page_name, wait_until="load")
            math_ok = page.evaluate(WAIT_FOR_MATH) if page.locator(".math").count() else True
            facts = page.evaluate(PAGE_FACTS, [RENDERED, MATH_ERRORS])
            ids[page_name] = _ids(site, page_name, ids) | set(facts["ids"])
            report.problems += _page_problems(page_name, facts, math_ok)
            report.problems += broken_links(site, base, page_name, facts["links"], ids)
            report.links_checked += len(facts["links"])
            report.math_elements += facts["math"]
            report.figures += facts["figures"]
            if screenshots and page_name in screenshots:
                _screenshot(page, *screenshots[page_name])
            page.close()
        if pages is None and (site / "search.html").exists():
            report.problems += _check_search(context, base)
        context.close()
    return report
