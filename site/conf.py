"""Sphinx configuration of the course site (``make site``; ``tools/build_site.py`` runs Sphinx with it).

Sphinx + MyST-NB render the notebooks that nbval executed (``tools/nbval_record.py``;
``nb_execution_mode = "off"``: nothing is executed twice) and the API reference (autodoc), with the
Sphinx Book Theme (Jupyter Book's look), Sphinx's own offline search, and MathJax 3 from the npm
package ``mathjax`` copied into ``_static/mathjax``: the site makes no request to any other host.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

project = "nstlab: neural style transfer from first principles"
author = "the nstlab authors"
copyright = "the nstlab authors, MIT license"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
# the checked aliases by name (``Fraction``, not ``Annotated[float, Range(0, 1)]``); annotations are strings
_ALIASES = ("ImageTensor", "AnyTensor", "PositiveInt", "NonNegativeInt", "ImageSide", "PositiveFloat")
_ALIASES += ("NonNegativeFloat", "Fraction", "Correlation", "ImageSource")
autodoc_type_aliases = {name: name for name in _ALIASES} | {"images.ImageSource": "ImageSource"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "**/.nstlab_site_removed*"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# Notebooks: already executed by nbval (tools/nbval_record.py); render their outputs as they are.
# The API reference (api/*.md, written by tools/build_site.py) is autodoc over every module's __all__.
nb_execution_mode = "off"
nb_merge_streams = True
nb_render_markdown_format = "myst"  # the widget notes of tools/build_site.py are admonitions
nb_ipywidgets_js = {}  # widget views are replaced by pictures before Sphinx (tools/build_site.py)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "substitution"]
myst_substitutions = {"budget": os.environ.get("NSTLAB_BUDGET", "laptop")}
myst_dmath_double_inline = True
myst_heading_anchors = 3  # GitHub-style slugs: glossary.md#l-bfgs, source_digest.md#gram-matrix
# glossary and answers use ### headings under the title on purpose (GitHub-style slugs the chapters link)
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# Math: MathJax 3 from the npm registry (site/package.json, pinned by site/package-lock.json), installed by
# `make site-assets` into build/npm and served from _static/mathjax of this site.
ROOT = Path(__file__).resolve().parents[1]
MATHJAX_SOURCE = Path(
    os.environ.get("NSTLAB_MATHJAX", ROOT / "build" / "npm" / "node_modules" / "mathjax" / "es5")
)
mathjax_path = "mathjax/tex-chtml-full.js"
mathjax3_config = {
    "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True},
}

html_theme = "sphinx_book_theme"
html_title = "nstlab"
html_static_path: list[str] = []
html_last_updated_fmt = None
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}


def _check_mathjax(app) -> None:
    if not (MATHJAX_SOURCE / "tex-chtml-full.js").is_file():
        raise RuntimeError(f"MathJax not found in {MATHJAX_SOURCE}: run `make site-assets` (npm ci of site/)")


def _copy_mathjax(app, exception) -> None:
    """Put the packaged MathJax under _static/mathjax of the built site."""
    if exception is None and app.builder.format == "html":
        shutil.copytree(MATHJAX_SOURCE, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def _plain_bars(app, what, name, obj, options, lines) -> None:
    """The docstrings write |x| for absolute values and norms, which reST would read as substitutions."""
    lines[:] = [line.replace("|", "\\|") for line in lines]


def _skip_foreign(app, what, name, obj, skip, options) -> bool | None:
    """Members a class inherits from another library (matplotlib's ``Figure.set``) stay out of the API."""
    module = getattr(obj, "__module__", None) or ""
    return True if what == "class" and callable(obj) and not module.startswith("nstlab") else None


def _alias_names(app, what, name, obj, options, signature, return_annotation):
    """Sphinx writes an alias inside a union as ``TypeAliasForwardRef('ImageSide')``: keep the name."""
    if signature is None:
        return None
    forward = re.compile(r"TypeAliasForwardRef\('([^']+)'\)")
    return forward.sub(r"\1", signature), return_annotation and forward.sub(r"\1", return_annotation)


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _plain_bars)
    app.connect("autodoc-process-signature", _alias_names)
    app.connect("autodoc-skip-member", _skip_foreign)
    app.connect("builder-inited", _check_mathjax)
    app.connect("build-finished", _copy_mathjax)
