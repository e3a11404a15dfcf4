"""Degenerate but legitimate inputs give finite, stylized pictures: a flat content image, a one-colour
style, the smallest image the backbone allows, feature maps with a dead channel."""

from __future__ import annotations

import pytest
import torch

from nstlab import decoders, images, optimize, transforms

SIZE = 64


def flat(value: float = 0.5, size: int = SIZE) -> torch.Tensor:
    return torch.full((1, 3, size, size), value)


def one_colour(rgb=(0.9, 0.1, 0.1), size: int = SIZE) -> torch.Tensor:
    return torch.tensor(rgb).view(1, 3, 1, 1).expand(1, 3, size, size).clone()


@pytest.mark.slow
def test_a_flat_content_image_is_stylized_not_nan(hed):
    """The luminance and edge floors have nothing to keep on a flat image; they switch off instead of
    dividing by its zero variance, and the style loss does its work."""
    style = images.load("strokes", size=SIZE)
    result = optimize.stylize(flat(), style, size=SIZE, steps=20, backbone=hed, progress=False)
    assert torch.isfinite(result.image).all()
    assert result.image.std() > 0.05, "the flat image gained no texture"
    assert result.history[-1]["style"] < 0.2 * result.history[0]["style"]


@pytest.mark.slow
def test_a_one_colour_style_moves_the_colours_to_it(hed):
    content = images.load("chelsea", size=SIZE)
    red = one_colour()
    result = optimize.stylize(content, red, size=SIZE, steps=20, backbone=hed, progress=False)
    assert torch.isfinite(result.image).all()
    mean = result.image.mean((0, 2, 3))
    assert (mean - red[0, :, 0, 0]).norm() < 0.5 * (content.mean((0, 2, 3)) - red[0, :, 0, 0]).norm()


@pytest.mark.slow
def test_the_smallest_image_the_backbone_allows_works_and_smaller_says_why(hed):
    """Gatys' deepest style layer, relu5_1, sits after four poolings: 16 px is the least long side."""
    style = images.load("strokes", size=32)
    small = optimize.stylize("chelsea", style, size=16, steps=3, backbone=hed, progress=False)
    assert torch.isfinite(small.image).all() and max(small.image.shape[-2:]) == 16
    with pytest.raises(ValueError, match="too small"):
        optimize.stylize("chelsea", style, size=8, steps=3, backbone=hed, progress=False)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_fast_transfer_of_flat_and_one_colour_inputs_is_finite(method):
    content = images.load("chelsea", size=SIZE)
    red = one_colour()
    out = decoders.stylize_fast(content, red, method=method)
    assert torch.isfinite(out).all()
    # a one-colour style carries its colour: the output's mean is the style's, within the decoder's error
    assert (out.mean((0, 2, 3)) - red[0, :, 0, 0]).abs().max() < 0.1
    # a flat content has constant features away from the border: AdaIN and WCT map a constant channel to
    # the style's mean, so the inside of the picture is flat too (these transforms only modulate the
    # content's own variation; image optimization, above, does texture a flat image)
    plain = decoders.stylize_fast(flat(size=128), images.load("strokes", size=128), method=method)
    inside = plain[..., 32:-32, 32:-32]
    assert torch.isfinite(plain).all() and inside.std(dim=(-2, -1)).max() < 0.05


def test_a_dead_style_channel_gives_finite_adain_and_wct():
    """A channel that is zero everywhere (a dead ReLU) has no variance: AdaIN gives it the style's mean (0)
    and the std its eps allows, WCT's coloring keeps only the directions the style has."""
    g = torch.Generator().manual_seed(0)
    content = torch.randn(1, 8, 16, 16, generator=g, dtype=torch.float64)
    style = torch.randn(1, 8, 16, 16, generator=g, dtype=torch.float64).relu()
    style[:, 3] = 0
    a = transforms.adain(content, style, eps=1e-5)
    # closed form: the dead channel's std is sqrt(0 + eps), its mean the style's 0
    assert torch.isfinite(a).all() and abs(float(a[:, 3].mean())) < 1e-12
    assert float(a[:, 3].std(unbiased=False)) == pytest.approx(1e-5**0.5, rel=1e-3)
    w = transforms.wct(content, style)
    assert torch.isfinite(w).all() and w[:, 3].abs().max() < 1e-6
