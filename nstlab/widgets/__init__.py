"""Instructor demos: each a class that caches features once, with a pure ``update(**values) -> View``
method (a figure and its numbers; tested in pytest) and a thin ``widget()`` wrapper that returns an
``ipywidgets.interactive`` whose controls call ``update``.

One module per demo (``shrinkage``, ``layer_choice``, ``adain``, ``wct``, ``checkerboard``, ``fast``);
``_core`` holds what they share. Import from the package: ``from nstlab.widgets import WCTDemo``.
"""

from __future__ import annotations

from ._core import View, interactive_view
from .adain import AdaINDemo
from .checkerboard import CheckerboardDemo
from .fast import FastTransferDemo
from .layer_choice import DEFAULT_LAYER_SETS, LayerChoiceDemo, precompute_layer_frames
from .shrinkage import ShrinkageDemo
from .wct import WCTDemo

__all__ = [
    "View",
    "interactive_view",
    "ShrinkageDemo",
    "precompute_layer_frames",
    "LayerChoiceDemo",
    "AdaINDemo",
    "WCTDemo",
    "CheckerboardDemo",
    "FastTransferDemo",
    "DEFAULT_LAYER_SETS",
]
