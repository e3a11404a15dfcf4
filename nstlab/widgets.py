"""Instructor demos: each a class that caches features once, with a pure ``update(**values) -> View``
method (a figure and its numbers; tested in pytest) and a thin ``widget()`` wrapper that returns an
``ipywidgets.interactive`` whose controls call ``update``.
"""

from __future__ import annotations

# --- fast feed-forward transfer (decoders) ------------------------------------------------------
