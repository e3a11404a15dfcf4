"""Fast feed-forward transfer through the shipped decoders (chapter 10)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor

from .. import decoders, images
from ..backbones import load_backbone
from ..validation import (
    Fraction,
    ImageSide,
    checked,
)
from ._core import View, freeze_layout, image_axes, interactive_view, load_ipywidgets

# --- fast feed-forward transfer (decoders) ------------------------------------------------------


class FastTransferDemo:
    """Fast feed-forward style transfer (:mod:`nstlab.decoders`), live.

    out = g(alpha sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c)), T = AdaIN or WCT (Huang & Belongie 2017,
    sec. 7: content-style trade-off and style interpolation), at every level of the coarse-to-fine cascade
    on the networks of ``encoder`` (:func:`nstlab.decoders.cascade_transfer`: the distilled student by
    default, or ``"vgg16-hed"``), or at the one layer of the vgg16-hed ``decoder`` when one is given. The
    encoder runs once per image and resolution at construction; the per-style targets of the first level
    are computed once per method; a slider move is then a weighted sum of cached feature maps and one
    decoder pass, plus, for the cascade, one encoder, transform and decoder pass per finer level.
    ``size`` is the long side of the full picture, ``preview`` that of the quick one shown with
    ``preview=True`` (for a slider that is still moving). One or two styles; with two, ``mix`` is the
    weight of the second (w = (1 - mix, mix)).
    """

    @checked
    def __init__(
        self,
        content: images.ImageSource,
        style: images.ImageSource | Sequence[images.ImageSource],
        decoder: decoders.Decoder | None = None,
        size: ImageSide = 256,
        preview: ImageSide = 128,
        encoder: str = "distilled",
    ):
        styles = list(style) if isinstance(style, list | tuple) else [style]
        if not 1 <= len(styles) <= 2:
            raise ValueError(f"FastTransferDemo takes one or two styles, got {len(styles)}")
        self.levels = decoders.CASCADE if decoder is None else (decoder.layer,)
        if decoder is None:
            self.net, decs = decoders.networks(encoder, self.levels, "cpu")
            self.decoders = [decs[layer] for layer in self.levels]
        else:
            self.net, self.decoders = (
                load_backbone("vgg16-hed", device=next(decoder.parameters()).device),
                [decoder],
            )
        self.decoder = self.decoders[0]
        device = next(self.decoder.parameters()).device
        self.n_styles, self._targets, self._canvases = len(styles), {}, {}
        self.content, self.styles, self.features, self.style_features = {}, {}, {}, {}
        for res in dict.fromkeys((size, preview)):
            c = images.load(content, size=res).to(device)
            s = [images.load(x, size=res).to(device) for x in styles]
            self.content[res], self.styles[res] = c, s
            with torch.no_grad():
                self.style_features[res] = [self.net.features(x, self.levels) for x in s]
            first = self.levels[0]
            fc = decoders.encode(c, first, self.net)
            self.features[res] = (fc, [f[first] for f in self.style_features[res]])
        self.size, self.preview = size, preview

    @checked
    def targets(self, method: str, res: int) -> list[Tensor]:
        """T(f(c), f(s_k)) at alpha = 1 for every style at the first level (cached per method and size)."""
        if (method, res) not in self._targets:
            fc, fs = self.features[res]
            self._targets[method, res] = [decoders.style_target(fc, f, method) for f in fs]
        return self._targets[method, res]

    @checked
    def picture(
        self, alpha: Fraction = 1.0, method: str = "adain", mix: Fraction = 0.0, preview: bool = False
    ) -> Tensor:
        """The stylized image (1, 3, H, W) for these slider values, from the cached features."""
        return self._transfer(alpha, method, mix, preview)[1]

    @checked
    def style_weights(self, mix: Fraction) -> list[float]:
        """w = (1 - mix, mix) for two styles, (1,) for one (where mix must be 0)."""
        if self.n_styles == 1 and mix != 0:
            raise ValueError("mix (the weight of a second style) needs two styles")
        return [1.0] if self.n_styles == 1 else [1.0 - mix, mix]

    def _transfer(self, alpha: float, method: str, mix: float, preview: bool) -> tuple[Tensor, Tensor]:
        """(t, picture): the blended first-level features and the picture at the preview or the full size."""
        res = self.preview if preview else self.size
        weights, size = self.style_weights(mix), tuple(self.content[res].shape[-2:])
        t = decoders.blend(self.features[res][0], self.targets(method, res), alpha, weights)
        out = decoders.decode(t, self.decoder, size)
        for layer, decoder in zip(self.levels[1:], self.decoders[1:], strict=True):
            fs = [f[layer] for f in self.style_features[res]]
            out = decoders.level_transfer(out, fs, decoder, method, alpha, weights, self.net)
        return t, out

    @checked
    def update(
        self,
        alpha: Fraction = 1.0,
        method: str = "adain",
        mix: Fraction = 0.0,
        preview: bool = False,
        *,
        reuse: bool = False,
    ) -> View:
        """Figure: content, style(s), result. Numbers: alpha, mix, and the relative feature change
        ||t - f(c)|| / ||f(c)|| that the decoder turns into the picture. ``reuse=True`` redraws the
        previous reuse call's figure of the same size (only the pictures and titles change; what the
        widget does)."""
        res = self.preview if preview else self.size
        fc = self.features[res][0]
        t, out = self._transfer(alpha, method, mix, preview)
        numbers = {
            "alpha": float(alpha),
            "mix": float(mix),
            "relative_feature_change": float((t - fc).norm() / fc.norm()),
        }
        canvas = self._canvases.get(res) if reuse else None
        if canvas is None:
            canvas = self._new_canvas(res)
            if reuse:
                self._canvases[res] = canvas
        canvas["output"].set_data(images.to_numpy(out))
        canvas["axes"][-1].set_title(
            f"{method}, alpha = {alpha:.2f}" + (" (preview)" if preview else ""), fontsize=9
        )
        for k, w in enumerate(self.style_weights(mix)):
            canvas["axes"][1 + k].set_title(f"style {k + 1} (w = {w:.2f})", fontsize=9)
        if reuse:
            freeze_layout(canvas["fig"])
        return View(canvas["fig"], numbers)

    def _new_canvas(self, res: int) -> dict[str, Any]:
        panels = 2 + self.n_styles
        fig = Figure(figsize=(2.4 * panels, 2.5), dpi=80, layout="constrained")
        axes = list(fig.subplots(1, panels))
        axes[0].imshow(images.to_numpy(self.content[res]))
        image_axes(axes[0], "content")
        for k, s in enumerate(self.styles[res]):
            axes[1 + k].imshow(images.to_numpy(s))
            image_axes(axes[1 + k], f"style {k + 1}")
        output = axes[-1].imshow(images.to_numpy(self.content[res]))
        image_axes(axes[-1], "")
        return {"fig": fig, "axes": axes, "output": output}

    @checked
    def widget(self):
        """Sliders alpha and (two styles) mix, a method menu and a preview switch (the small size while
        you drag, then turn it off for the full picture)."""
        ipywidgets = load_ipywidgets()
        controls: dict[str, Any] = {
            "alpha": ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha"),
            "method": ipywidgets.Dropdown(options=["adain", "wct"], value="adain", description="method"),
            "mix": (
                ipywidgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="style 2")
                if self.n_styles == 2
                else ipywidgets.fixed(0.0)
            ),
            "preview": ipywidgets.Checkbox(value=False, description=f"preview ({self.preview} px)"),
        }
        return interactive_view(partial(self.update, reuse=True), **controls)
