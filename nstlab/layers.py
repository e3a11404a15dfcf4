"""The VGG layer table (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks", table 1, configs D
and E) and layer weightings: plain data that :mod:`nstlab.backbones` builds networks from and
:mod:`nstlab.receptive` does arithmetic on, with no torch module behind it.

Layers are named ``conv{b}_{i}`` (3x3 convolution, stride 1, padding 1), ``relu{b}_{i}`` and ``pool{b}``
(2x2 max pooling, stride 2), block b = 1..5 with ``CONVS_PER_BLOCK[arch][b - 1]`` convolutions of
``WIDTHS[b - 1]`` channels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from .validation import checked

__all__ = [
    "vgg_layers",
    "vgg_scaled",
    "layer_weights",
]

CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)


@checked
def vgg_layers(arch: str) -> list[tuple[str, str, int, int]]:
    """The named layer list of a VGG: (name, kind, in_channels, out_channels), kind conv/relu/pool."""
    if arch not in CONVS_PER_BLOCK:
        raise ValueError(f"unknown VGG architecture {arch!r}; choose one of {', '.join(CONVS_PER_BLOCK)}")
    layers, c_in = [], 3
    for b, (n, width) in enumerate(zip(CONVS_PER_BLOCK[arch], WIDTHS, strict=True), start=1):
        for i in range(1, n + 1):
            layers += [(f"conv{b}_{i}", "conv", c_in, width), (f"relu{b}_{i}", "relu", width, width)]
            c_in = width
        layers.append((f"pool{b}", "pool", width, width))
    return layers


@checked
def vgg_scaled(spec: list[tuple[str, str, int, int]], width: float) -> list[tuple[str, str, int, int]]:
    """A layer table with every channel count but the image's 3 multiplied by ``width`` (rounded, >= 1):
    the same network, narrower (a distilled student, :mod:`nstlab.distill`)."""
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1] (a share of the channels), got {width}")
    scale = lambda c: c if c == 3 else max(1, round(c * width))  # noqa: E731
    return [(name, kind, scale(c_in), scale(c_out)) for name, kind, c_in, c_out in spec]


@checked
def layer_weights(
    layers: str | Iterable[str] | Mapping[str, float], name: str = "layers"
) -> dict[str, float]:
    """``{name: weight}`` from a name, a list of names (weight 1 each) or a mapping; weights must be
    finite, non-negative with a positive sum. Errors name the argument as ``name``."""
    if isinstance(layers, str):
        layers = [layers]
    weights = dict(layers) if isinstance(layers, Mapping) else {n: 1.0 for n in layers}
    bad = not weights or not all(math.isfinite(w) for w in weights.values())
    if bad or sum(weights.values()) <= 0 or min(weights.values()) < 0:
        raise ValueError(
            f"{name} needs at least one layer, finite weights >= 0 and a positive sum; got {weights}"
        )
    return weights
