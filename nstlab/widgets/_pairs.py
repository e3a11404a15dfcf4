"""The base of the demos on one content/style pair of feature maps (AdaIN, WCT)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from torch import Tensor

from .. import images
from ..backbones import Backbone
from ..validation import (
    ImageSide,
)
from ._core import View, as_map, check_decode, decoded, feature_map, freeze_layout, image_axes

# ----------------------------------------------------------------------------------------------------
# AdaIN
# ----------------------------------------------------------------------------------------------------


@dataclass
class Pair:
    """Content and style features (1, C, H, W) of one layer, the optional decoder and a label for titles."""

    content: Tensor
    style: Tensor
    decode: Callable[[Tensor], Tensor] | None
    label: str

    def __post_init__(self) -> None:
        check_decode(self.decode)
        C_c, C_s = self.content.shape[1], self.style.shape[1]
        if C_c != C_s:
            raise ValueError(f"content has C = {C_c} channels, style C = {C_s}; use one layer")


class FeaturePairDemo:
    """Base of the demos that move one content's features toward one style's (AdaIN, WCT).

    The content and style images are encoded once (``backbone`` up to ``layer`` at ``size`` px), or
    :meth:`from_features` takes given feature maps. ``decode`` (features (1, C, H, W) -> image
    (1, 3, H, W)) adds the decoded picture. A subclass's ``_setup(pair, **options)`` caches what its
    ``update`` needs; ``options`` are the subclass's own (see its docstring).
    """

    def __init__(
        self,
        content: images.ImageSource,
        style: images.ImageSource,
        backbone: str | Backbone = "vgg16-hed",
        layer: str = "relu3_1",
        size: ImageSide = 256,
        decode: Callable[[Tensor], Tensor] | None = None,
        **options: Any,
    ):
        fc, fs = (feature_map(backbone, x, layer, size) for x in (content, style))
        self._setup(Pair(fc, fs, decode, layer), **options)

    @classmethod
    def from_features(
        cls,
        content_features: Tensor,
        style_features: Tensor,
        decode: Callable[[Tensor], Tensor] | None = None,
        **options: Any,
    ) -> Any:
        """The demo on given feature maps (1, C, H, W) or matrices (C, N) instead of images (for WCT, N < C
        shows the singular case)."""
        demo = cls.__new__(cls)
        fc, fs = as_map(content_features, "content_features"), as_map(style_features, "style_features")
        demo._setup(Pair(fc, fs, decode, "features"), **options)
        return demo

    def _setup(self, pair: Pair, **options: Any) -> None:
        raise NotImplementedError

    def _start(self, pair: Pair) -> tuple[Tensor, Tensor]:
        """Keep the pair (the first step of every ``_setup``); returns (content, style) features."""
        self.content, self.style, self.decode, self.label = pair.content, pair.style, pair.decode, pair.label
        self._canvas: dict[str, Any] | None = None
        return pair.content, pair.style

    def _new_canvas(self) -> dict[str, Any]:
        raise NotImplementedError

    def _canvas_for(self, reuse: bool) -> dict[str, Any]:
        """The figure to draw on: with ``reuse`` the previous reuse call's (what the widget does)."""
        canvas = self._canvas if reuse and self._canvas is not None else self._new_canvas()
        if reuse:
            self._canvas = canvas
        return canvas

    def _view(self, canvas: dict[str, Any], numbers: dict[str, float], reuse: bool) -> View:
        if reuse:
            freeze_layout(canvas["fig"])
        return View(canvas["fig"], numbers)

    def _add_picture_axes(self, canvas: dict[str, Any], ax: Axes) -> None:
        canvas["picture_axes"], canvas["picture"] = ax, None
        image_axes(ax, "decoded output")

    def _show_decoded(self, canvas: dict[str, Any], features: Tensor) -> None:
        """Decode ``features`` into the picture panel (a new image only when the size changed)."""
        picture = decoded(self.decode, features)
        if canvas["picture"] is None or canvas["picture"].get_array().shape != picture.shape:
            canvas["picture"] = canvas["picture_axes"].imshow(picture)
        else:
            canvas["picture"].set_data(picture)
