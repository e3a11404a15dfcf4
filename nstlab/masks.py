"""Spatial control of style transfer with masks (Gatys et al. 2017, "Controlling Perceptual Factors in
Neural Style Transfer", CVPR, sec. 4).

A mask m (H, W) with values in [0, 1] marks a region of the generated image. It is carried to each layer's
resolution the way the network shrinks the image: convolutions (3x3, padding 1) keep the size, and at each
2x2 pooling the mask is average-pooled, so a layer's mask value is the fraction of that feature cell that
lies inside the region. The *guided Gram matrix* of a region is the Gram matrix of the masked features,

    G_r = (F o m_r)(F o m_r)^T / sum(m_r^2),

a weighted second moment with weights m_r^2 over the positions: for a 0/1 mask it is the plain Gram matrix
F F^T / N of the positions inside the region (``stats.gram(F, "n")`` of those columns), and a constant
mask gives exactly ``stats.gram(F)``. Matching G_r to a style's Gram matrix gives the region that style;
leaving a region out of every style loss keeps it free of style.

A region needs at least one feature position at every style layer: at a layer of stride s (a relu5_1
unit steps 16 input pixels on VGG) the mass sum(m_l) is about area / s^2, so the region must cover at
least s^2 pixels; smaller (or empty) regions raise a ValueError that says so, instead of a Gram matrix
divided by ~0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from .backbones import Backbone
from .images import aspect_mismatch
from .validation import Fraction, ImageSide, PositiveFloat, checked

__all__ = [
    "as_mask",
    "propagate",
    "layer_masks",
    "stride",
    "check_regions",
    "guided_gram",
    "guided_gram_loss",
    "split_mask",
    "ellipse_mask",
]

MIN_POSITIONS = 1.0  # smallest mass sum(m_l) of a region at a style layer: one whole feature position


@checked
def as_mask(mask: Tensor | np.ndarray, shape: tuple[int, int] | None = None, name: str = "mask") -> Tensor:
    """A mask (H, W), (1, H, W) or (1, 1, H, W) (tensor, array or bool) as a float (1, 1, H, W) tensor.

    ``shape`` = (H, W) resizes it to that size (bilinear, antialiased), so a mask drawn at any resolution
    follows the image; the aspect ratio must agree within ``images.ASPECT_TOLERANCE`` (2%). Values must
    lie in [0, 1].
    """
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, Tensor) else mask)
    m = m.float() if m.dtype == torch.bool or not m.is_floating_point() else m
    while m.ndim < 4:
        m = m[None]
    if m.ndim != 4 or m.shape[:2] != (1, 1):
        raise ValueError(f"{name} must be (H, W), (1, H, W) or (1, 1, H, W), got shape {tuple(mask.shape)}")
    if not torch.isfinite(m).all() or m.min() < 0 or m.max() > 1:
        raise ValueError(f"{name} values must be finite and in [0, 1] (1 = inside the region)")
    if shape is not None and tuple(m.shape[-2:]) != tuple(shape):
        h, w = m.shape[-2:]
        if aspect_mismatch((h, w), shape):
            raise ValueError(
                f"{name} is {h}x{w} (HxW) but the image is {shape[0]}x{shape[1]}: the aspect ratios differ; "
                "draw the mask at the image's aspect ratio"
            )
        m = nnf.interpolate(
            m, size=tuple(shape), mode="bilinear", align_corners=False, antialias=h > shape[0]
        ).clamp(0, 1)
    return m


@checked
def propagate(mask: Tensor, backbone: Backbone, layers: Iterable[str]) -> dict[str, Tensor]:
    """Each requested layer's mask (1, 1, h_l, w_l): ``mask`` (1, 1, H, W) carried through the backbone's
    layers, average-pooled at every pooling layer (same kernel, stride and rounding as the max pooling), so
    the shapes equal those of ``backbone.features`` for an H x W image."""
    layers = backbone.check_layers(layers)
    wanted, deepest = set(layers), max(backbone.layer_names.index(n) for n in layers)
    m, out = mask, {}
    for name in backbone.layer_names[: deepest + 1]:
        module = backbone.layers[name]
        if isinstance(module, nn.MaxPool2d):
            m = nnf.avg_pool2d(m, module.kernel_size, module.stride, ceil_mode=module.ceil_mode)
        if name in wanted:
            out[name] = m
    return out


@checked
def layer_masks(
    mask: Tensor | np.ndarray, backbone: Backbone, layers: Iterable[str], shape: tuple[int, int] | None = None
) -> dict[str, Tensor]:
    """``{layer: mask at that layer's resolution}`` for a backbone (see :func:`propagate`); ``shape`` =
    (H, W) of the image first resizes the mask to it."""
    return propagate(as_mask(mask, shape), backbone, layers)


@checked
def stride(backbone: Backbone, layer: str) -> int:
    """Input pixels per feature position of ``layer``: 2^(number of pooling layers before it)."""
    index = backbone.layer_names.index(backbone.check_layers([layer])[0])
    pools = sum(isinstance(backbone.layers[n], nn.MaxPool2d) for n in backbone.layer_names[: index + 1])
    return 2**pools


@checked
def check_regions(
    masks: Sequence[Tensor], backbone: Backbone, layers: Iterable[str], names: Sequence[str] | None = None
) -> list[dict[str, Tensor]]:
    """Propagate each (1, 1, H, W) mask to ``layers``; raise a ValueError for a region too small (or empty)
    to have ``MIN_POSITIONS`` feature positions at some layer, naming the region, its size in pixels and
    the smallest size that works. Returns one ``{layer: mask}`` dict per region."""
    layers = backbone.check_layers(layers)
    names = names or [f"region {i}" for i in range(len(masks))]
    out = []
    for name, m in zip(names, masks, strict=True):
        per_layer = propagate(m, backbone, layers)
        area = float(m.sum())
        too_small = [n for n, ml in per_layer.items() if float(ml.sum()) < MIN_POSITIONS]
        if too_small:
            layer = max(too_small, key=lambda n: stride(backbone, n))  # the layer that needs the most
            mass, s = float(per_layer[layer].sum()), stride(backbone, layer)
            raise ValueError(
                f"{name} covers {area:.4g} pixel(s) of the {m.shape[-2]}x{m.shape[-1]} image; at {layer} "
                f"(stride {s} px) that is {mass:.3g} feature positions, too few for a Gram matrix. The "
                f"smallest region that works covers {s * s} pixels (e.g. a {s}x{s} square); enlarge it, "
                f"or drop the deep layers ({', '.join(too_small)}) from the style layers"
            )
        out.append(per_layer)
    return out


@checked
def guided_gram(F: Tensor, m: Tensor) -> Tensor:
    """G_r = (F o m)(F o m)^T / sum(m^2) for F (B, C, h, w) and a mask m (1 or B, 1, h, w): (B, C, C).

    The Gram matrix of the region's positions, weighted by m^2 (Gatys et al. 2017, eq. 6, normalized so
    that a constant mask gives ``stats.gram(F, "n")``). Raises on an empty mask instead of dividing by 0.
    """
    if F.ndim != 4 or m.ndim != 4 or m.shape[-2:] != F.shape[-2:] or m.shape[1] != 1:
        raise ValueError(
            f"guided_gram needs features (B, C, h, w) and a mask (1, 1, h, w) of the same h, w; "
            f"got {tuple(F.shape)} and {tuple(m.shape)} (propagate the mask with layer_masks)"
        )
    m = m.to(F)
    weight = m.pow(2).sum((-1, -2, -3))
    if bool((weight <= 0).any()):
        raise ValueError("the mask is empty at this layer (all zeros): no positions to take a Gram matrix of")
    Fm = (F * m).flatten(2)
    return Fm @ Fm.transpose(-1, -2) / weight[:, None, None]


@checked
def guided_gram_loss(Fx: Tensor, m: Tensor, Gs: Tensor) -> Tensor:
    """||G_r(x) - G(s)||_F^2: the style loss of one region at one layer, summed over the batch."""
    C = Fx.shape[-3] if Fx.ndim >= 3 else -1
    if Gs.shape[-2:] != (C, C):
        raise ValueError(f"Gs must be the ({C}, {C}) Gram matrix of Fx's layer, got shape {tuple(Gs.shape)}")
    return (guided_gram(Fx, m) - Gs).pow(2).sum()


@checked
def split_mask(
    shape: tuple[ImageSide, ImageSide], axis: str = "vertical", at: Fraction = 0.5, soft: Fraction = 0.0
) -> Tensor:
    """Two complementary masks (1, 1, H, W) splitting an image at fraction ``at`` of its width
    (``axis="vertical"``: left/right) or height (``"horizontal"``: top/bottom); ``soft`` > 0 blends them
    over that fraction of the side by a linear ramp. Returns a (2, 1, H, W) tensor summing to 1."""
    H, W = shape
    if axis not in ("vertical", "horizontal"):
        raise ValueError(f"axis must be 'vertical' or 'horizontal', got {axis!r}")
    n = W if axis == "vertical" else H
    t = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    first = ((at - t) / soft + 0.5).clamp(0, 1) if soft > 0 else (t < at).float()
    first = first[None, :].expand(H, W) if axis == "vertical" else first[:, None].expand(H, W)
    return torch.stack([first, 1 - first])[:, None]


@checked
def ellipse_mask(
    shape: tuple[ImageSide, ImageSide],
    center: tuple[float, float],
    radii: tuple[PositiveFloat, PositiveFloat],
) -> Tensor:
    """A 0/1 mask (1, 1, H, W) of an ellipse; ``center`` (y, x), ``radii`` (ry, rx) as fractions of H, W."""
    H, W = shape
    y = (torch.arange(H, dtype=torch.float32) + 0.5) / H
    x = (torch.arange(W, dtype=torch.float32) + 0.5) / W
    d = ((y[:, None] - center[0]) / radii[0]) ** 2 + ((x[None, :] - center[1]) / radii[1]) ** 2
    return (d <= 1).float()[None, None]
