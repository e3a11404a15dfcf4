"""Spatial control: mask propagation, guided Gram matrices, region errors, protected and multi-style
regions."""

import numpy as np
import pytest
import torch

from nstlab import images, masks, optimize, stats
from nstlab.backbones import load_backbone

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.mark.parametrize("shape", [(64, 64), (37, 50)])
def test_propagated_masks_have_each_layers_feature_shape(hed, shape):
    """Odd sizes too: vgg16-hed pools with ceil rounding, random-vgg16 with floor rounding."""
    for net in (hed, load_backbone("random-vgg16", device="cpu")):
        img = torch.rand(1, 3, *shape)
        feats = net.features(img, LAYERS)
        per_layer = masks.layer_masks(torch.ones(shape), net, LAYERS)
        for name in LAYERS:
            assert per_layer[name].shape == (1, 1, *feats[name].shape[-2:]), (net.name, name)


def test_average_pooling_keeps_the_regions_area_fraction(hed):
    """On a 64 x 64 image every 2x2 pool averages whole cells, so mean(m_l) = mean(m) at every layer."""
    m = masks.ellipse_mask((64, 64), (0.4, 0.6), (0.3, 0.2))
    for name, ml in masks.propagate(m, hed, LAYERS).items():
        assert float(ml.mean()) == pytest.approx(float(m.mean()), rel=1e-6), name
        assert masks.stride(hed, name) == 64 // ml.shape[-1]


def test_guided_gram_is_the_gram_matrix_of_the_regions_positions():
    g = torch.Generator().manual_seed(0)
    F = torch.randn(1, 5, 6, 7, generator=g, dtype=torch.float64)
    m = (torch.rand(1, 1, 6, 7, generator=g) > 0.5).double()
    inside = F.flatten(2)[0][:, m.flatten().bool()].numpy()
    reference = inside @ inside.T / inside.shape[1]  # numpy: F_r F_r^T / N_r over the region's columns
    np.testing.assert_allclose(masks.guided_gram(F, m)[0].numpy(), reference, rtol=1e-12)
    np.testing.assert_allclose(masks.guided_gram(F, torch.full_like(m, 0.3)), stats.gram(F), rtol=1e-12)


@pytest.mark.parametrize("region", ["empty", "one pixel"])
def test_an_empty_or_one_pixel_region_is_a_clear_error_not_nan(region, hed):
    shape = tuple(images.load("chelsea", size=64).shape[-2:])  # 43 x 64
    m = torch.zeros(shape)
    if region == "one pixel":
        m[10, 20] = 1
    kw = dict(backbone=hed, size=64, steps=1, progress=False)
    message = r"style mask 0 \(of 2\) covers .* pixel.*relu5_1.*smallest region that works covers 256 pixels"
    with pytest.raises(ValueError, match=message):
        optimize.stylize("chelsea", ["waves", "mosaic"], style_masks=[m, 1 - m], **kw)
    with pytest.raises(ValueError, match="covers 0 pixel"):
        optimize.stylize("chelsea", "waves", protect=torch.ones(shape), **kw)
    # a 16 x 16 region has one feature position at relu5_1: accepted
    ok = torch.zeros(shape)
    ok[:16, :16] = 1
    result = optimize.stylize("chelsea", ["waves", "mosaic"], style_masks=[ok, 1 - ok], **kw)
    assert torch.isfinite(result.image).all()


def test_mask_arguments_are_checked():
    kw = dict(backbone="random-vgg16", size=32, steps=1, progress=False)
    with pytest.raises(ValueError, match="one mask each"):
        optimize.stylize("chelsea", ["waves", "mosaic"], **kw)
    with pytest.raises(ValueError, match="aspect"):
        optimize.stylize("chelsea", "waves", style_masks=[torch.ones(40, 10)], **kw)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        optimize.stylize("chelsea", "waves", protect=2 * torch.ones(8, 8), **kw)


@pytest.mark.slow
def test_a_protected_region_stays_at_the_content(hed):
    """Stated distance: mean |x - c| inside the protected ellipse below 0.01, while the same run without
    protection moves those pixels by more than 0.05; outside, the picture still changes by more than 0.05."""
    content = images.load("chelsea", size=64)
    shape = tuple(content.shape[-2:])
    keep = masks.ellipse_mask(shape, (0.45, 0.5), (0.3, 0.25))
    kw = dict(backbone=hed, size=64, steps=25, progress=False, style_size=48)
    free = optimize.stylize("chelsea", "strokes", **kw).image
    held = optimize.stylize("chelsea", "strokes", protect=keep, **kw).image
    inside = keep.bool().expand_as(content)

    def dist(x, where):
        return float((x - content).abs()[where].mean())

    assert dist(held, inside) < 0.01 < 0.05 < dist(free, inside)
    assert dist(held, ~inside) > 0.05  # the rest is still stylized


@pytest.mark.slow
def test_two_styles_each_land_in_their_own_region(hed):
    """Left half painted with waves, right half with mosaic: each half's guided Gram matrix is closer to its
    own style's Gram matrix than to the other's (relu2_1)."""
    content = images.load("chelsea", size=64)
    left, right = masks.split_mask(tuple(content.shape[-2:]))
    styles = [images.load("waves", size=64), images.load("mosaic", size=64)]
    result = optimize.stylize(
        content,
        styles,
        style_masks=[left, right],
        backbone=hed,
        size=64,
        steps=30,
        progress=False,
        style_weight=1e3,
    )
    layer = "relu2_1"
    F = hed.features(result.image, [layer])[layer]
    targets = [stats.gram(hed.features(s, [layer])[layer]) for s in styles]
    for own, m in enumerate((left, right)):
        G = masks.guided_gram(F, masks.layer_masks(m, hed, [layer])[layer])
        d = [float((G - T).pow(2).sum()) for T in targets]
        assert d[own] < 0.7 * d[1 - own], (own, d)
