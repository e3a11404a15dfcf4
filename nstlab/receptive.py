"""Receptive fields: which input pixels a unit of a layer sees, and the effective scales of the text.

Layer arithmetic (Araujo, Norris & Sim 2019, "Computing Receptive Fields of Convolutional Neural
Networks", Distill), for layers with kernel k_l, stride s_l and padding p_l, from r_0 = 1, j_0 = 1,
start_0 = 0 (the centre of input pixel 0):

    r_l = r_{l-1} + (k_l - 1) j_{l-1}                 size of the receptive field (pixels)
    j_l = j_{l-1} s_l                                 jump: input distance between adjacent units
    start_l = start_{l-1} + ((k_l - 1)/2 - p_l) j_{l-1}   input position of the centre of unit 0

Effective texture and content scales of the text, for style layers L_s with weights a_l and content
layers L_c with weights b_l:

    S_eff = sum_l a_l r_l / sum_l a_l,   C_eff = sum_l b_l r_l / sum_l b_l,   R = S_eff / C_eff

R >> 1 paints small content structures with large style texture ("more painterly").
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from .layers import CONVS_PER_BLOCK, layer_weights, vgg_layers
from .validation import ImageSide, NonNegativeInt, check_fields, checked

__all__ = [
    "ReceptiveField",
    "receptive_fields",
    "receptive_field",
    "effective_scale",
    "scale_ratio",
    "linearized",
    "input_gradient",
    "empirical_receptive_field",
    "table",
    "texture_wavelength",
]

if TYPE_CHECKING:  # backbones imports this module; at run time a backbone is anything with ``.arch``
    from .backbones import Backbone

KERNEL_STRIDE_PAD = {"conv": (3, 1, 1), "relu": (1, 1, 0), "pool": (2, 2, 0)}


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one layer: ``size`` r, ``jump`` j and ``start`` (see the module docstring)."""

    size: int
    jump: int
    start: float

    def __post_init__(self) -> None:
        check_fields(self)


def _arch(backbone: Backbone | str) -> str:
    """The VGG architecture ("vgg16" or "vgg19") of a backbone (duck-typed: its ``.arch``) or a name."""
    if not isinstance(backbone, str):
        arch = getattr(backbone, "arch", None)
        if arch not in CONVS_PER_BLOCK:
            raise TypeError(f"expected a Backbone or a backbone name, got {type(backbone).__name__}")
        return arch
    name = backbone.replace("random-", "").replace("-hed", "")
    if name not in CONVS_PER_BLOCK:
        raise ValueError(f"unknown backbone {backbone!r}; use a Backbone or one of vgg16, vgg19, vgg16-hed")
    return name


@checked
def receptive_fields(backbone: Backbone | str = "vgg16") -> dict[str, ReceptiveField]:
    """Size, jump and start of every named layer of a backbone (or of ``"vgg16"`` / ``"vgg19"``)."""
    r, j, start, out = 1, 1, 0.0, {}
    for name, kind, *_ in vgg_layers(_arch(backbone)):
        k, s, p = KERNEL_STRIDE_PAD[kind]
        r, start, j = r + (k - 1) * j, start + ((k - 1) / 2 - p) * j, j * s
        out[name] = ReceptiveField(r, j, start)
    return out


@checked
def receptive_field(backbone: Backbone | str, layer: str) -> int:
    """Receptive-field size r_l in input pixels of one unit of ``layer``."""
    fields = receptive_fields(backbone)
    if layer not in fields:
        raise ValueError(f"unknown layer {layer!r}; valid names: {', '.join(fields)}")
    return fields[layer].size


@checked
def effective_scale(layers: Mapping[str, float] | Iterable[str], backbone: Backbone | str = "vgg16") -> float:
    """Weighted mean receptive field sum_l a_l r_l / sum_l a_l (S_eff or C_eff of the text).

    ``layers`` maps layer names to weights; a plain list weighs every layer 1.
    """
    weights = layer_weights(layers)
    return sum(a * receptive_field(backbone, n) for n, a in weights.items()) / sum(weights.values())


@checked
def scale_ratio(
    style_layers: Mapping[str, float] | Iterable[str],
    content_layers: Mapping[str, float] | Iterable[str],
    backbone: Backbone | str = "vgg16",
) -> float:
    """R = S_eff / C_eff: style texture scale over content scale."""
    return effective_scale(style_layers, backbone) / effective_scale(content_layers, backbone)


@checked
def linearized(backbone: Backbone) -> Backbone:
    """A copy in which every path contributes: |weights|, zero biases, average instead of max pooling.

    All activations are then positive, so ReLUs pass everything and the input gradient of a unit is
    non-zero on exactly its receptive field: the empirical check of the layer arithmetic.
    """
    lin = copy.deepcopy(backbone).cpu()
    for name, module in lin.layers.items():
        if isinstance(module, nn.Conv2d):
            module.weight.data.abs_()
            module.bias.data.zero_()
        elif isinstance(module, nn.MaxPool2d):
            lin.layers[name] = nn.AvgPool2d(2, 2)
    return lin


@checked
def input_gradient(
    backbone: Backbone, layer: str, size: ImageSide | None = None, seed: NonNegativeInt = 0
) -> Tensor:
    """|d unit / d input| summed over colour channels, (H, W), for the centre unit of ``layer``.

    The unit's output is summed over its channels. ``size`` defaults to twice the receptive field, so
    the field lies inside the image. On the real network this map is the *effective* receptive field
    (Luo et al. 2016): concentrated in the middle and smaller than the theoretical one.
    """
    backbone.check_layers([layer])
    field = receptive_fields(backbone)[layer]
    size = size or 2 * field.size + 2 * field.jump
    g = torch.Generator().manual_seed(seed)
    dev = next(backbone.parameters()).device
    img = (0.25 + 0.5 * torch.rand(1, 3, size, size, generator=g)).to(dev).requires_grad_(True)
    fmap = backbone.features(img, [layer])[layer]
    u, v = fmap.shape[-2] // 2, fmap.shape[-1] // 2
    fmap[0, :, u, v].sum().backward()
    return img.grad[0].abs().sum(0).cpu()


@checked
def empirical_receptive_field(backbone: Backbone, layer: str, linearize: bool = True) -> int:
    """Width in pixels of the region where the input gradient of the centre unit is non-zero.

    With ``linearize=True`` (see :func:`linearized`) this equals the layer arithmetic exactly; on the
    real network ReLUs and max pooling can only shrink it.
    """
    net = linearized(backbone) if linearize else backbone
    grad = input_gradient(net, layer)
    cols = torch.nonzero(grad.sum(0) > 0).flatten()
    rows = torch.nonzero(grad.sum(1) > 0).flatten()
    if len(cols) == 0:
        return 0
    return int(max(cols[-1] - cols[0], rows[-1] - rows[0]) + 1)


@checked
def table(backbone: Backbone | str = "vgg16") -> list[dict[str, float | int | str]]:
    """Rows (layer, size, jump, start) for display, e.g. ``pandas.DataFrame(table())`` or a loop."""
    return [
        {"layer": n, "size": f.size, "jump": f.jump, "start": f.start}
        for n, f in receptive_fields(backbone).items()
    ]


@checked
def texture_wavelength(img: Tensor) -> float:
    """Power-weighted mean wavelength of an image's gray-level pattern, in pixels: lambda = 1 / E_P[|f|].

    With g the gray image (mean over colours) minus its mean and P(f) = |DFT(g)(f)|^2 its power spectrum,
    E_P[|f|] = sum_f P(f) |f| / sum_f P(f) is the mean spatial frequency (cycles per pixel) and its
    inverse the typical size of the pattern: a sinusoid of period T gives exactly T, a blurred or
    coarser texture a larger value. A simple number for "how large are the strokes" of a stylization
    (the texture scale that S_eff predicts). ``img`` is (1, 3, H, W) or (H, W); a constant image is an error.
    """
    if img.ndim == 4:
        if img.shape[0] != 1:
            raise ValueError(f"texture_wavelength takes one image (1, C, H, W), got {tuple(img.shape)}")
        g = img[0].mean(0)
    elif img.ndim == 2:
        g = img
    else:
        raise ValueError(f"img must be (1, C, H, W) or (H, W), got shape {tuple(img.shape)}")
    g = g.detach().to(torch.float64).cpu()
    g = g - g.mean()
    power = torch.fft.fft2(g).abs().pow(2)
    fy = torch.fft.fftfreq(g.shape[0], dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(g.shape[1], dtype=torch.float64)[None, :]
    total = power.sum()
    if not total > 1e-20 * g.numel():
        raise ValueError("the image is constant: it has no pattern and no wavelength")
    return float(total / (power * torch.hypot(fy, fx)).sum())
