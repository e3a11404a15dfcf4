"""Loss functions of style transfer: content, Gram style and total variation.

Each takes feature maps (B, C, H, W) or matrices (C, N) of the generated image x and a target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from . import stats
from ._features import as_matrices, check_finite


def content_loss(Fx: Tensor, Fc: Tensor, reduction: str = "mean") -> Tensor:
    """Content loss L_content = 1/2 ||F(x) - F(c)||_2^2 (Gatys et al. 2016, eq. 1).

    ``reduction="sum"`` is the formula of the text; ``"mean"`` divides the squared error by the number
    of entries (times 1/2), which makes layers of different sizes comparable (the default in
    :func:`nstlab.optimize.stylize`).
    """
    if Fx.shape != Fc.shape:
        raise ValueError(
            f"content loss needs equal shapes, got {tuple(Fx.shape)} and {tuple(Fc.shape)}; "
            "the generated image must have the content image's size"
        )
    check_finite(Fx, "Fx")
    sq = (Fx - Fc).pow(2)
    if reduction == "sum":
        return 0.5 * sq.sum()
    if reduction == "mean":
        return 0.5 * sq.mean()
    raise ValueError(f"unknown reduction={reduction!r}; choose 'mean' or 'sum'")


def gram_loss(Fx: Tensor, Gs: Tensor, normalize: str = "n") -> Tensor:
    """Gram style loss ||G(x) - G(s)||_F^2 of one layer (Gatys et al. 2016, eq. 4 without weights).

    ``Gs`` is the style's precomputed Gram matrix (C, C) (or (B, C, C)), made with the same
    ``normalize``. Summed over the batch.
    """
    Mx, _ = as_matrices(Fx, "Fx")
    if Gs.shape[-1] != Mx.shape[-2]:
        raise ValueError(
            f"channel count mismatch: Fx has C = {Mx.shape[-2]}, the style Gram is {tuple(Gs.shape)}"
        )
    return (stats.gram(Fx, normalize) - Gs).pow(2).sum()


def total_variation(img: Tensor) -> Tensor:
    """Anisotropic squared total variation sum_ij (x_{i+1,j} - x_ij)^2 + (x_{i,j+1} - x_ij)^2, per pixel.

    A smoothness prior (Mahendran & Vedaldi 2015) that suppresses high-frequency noise in optimized
    images. Averaged over pixels and channels so its weight does not depend on the image size.
    """
    if img.ndim != 4:
        raise ValueError(f"total_variation needs an image batch (B, C, H, W), got shape {tuple(img.shape)}")
    dh = (img[..., 1:, :] - img[..., :-1, :]).pow(2).mean()
    dw = (img[..., :, 1:] - img[..., :, :-1]).pow(2).mean()
    return dh + dw



@dataclass(frozen=True)
class StyleLoss:
    """A style loss as :func:`nstlab.optimize.stylize` uses it.

    ``prepare(Fs)`` turns the style's feature map (1, C, H, W) into a target once (a Gram matrix, the
    sorted channels, ...); ``compare(Fx, target)`` is the differentiable loss of the generated image's
    feature map (1, C, H, W) against it. ``stylize`` divides each layer's loss by
    ``compare(zeros_like(Fs), target)``, the loss of an all-zero feature map, so that layers and
    backbones with very different activation scales get comparable weights.
    """

    name: str
    prepare: Callable[[Tensor], Any]
    compare: Callable[[Tensor, Any], Tensor]


STYLE_LOSSES: dict[str, StyleLoss] = {
    "gram": StyleLoss("gram", lambda Fs: stats.gram(Fs), gram_loss),
}


def get_style_loss(style_loss: str | StyleLoss) -> StyleLoss:
    """Look up a style loss by name (see ``STYLE_LOSSES``) or pass a :class:`StyleLoss` through."""
    if isinstance(style_loss, StyleLoss):
        return style_loss
    if style_loss not in STYLE_LOSSES:
        raise ValueError(f"unknown style loss {style_loss!r}; choose one of {sorted(STYLE_LOSSES)}")
    return STYLE_LOSSES[style_loss]
