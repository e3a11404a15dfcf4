"""Stain / colour normalization: Reinhard's l-alpha-beta, colour AdaIN and WCT, and the structure measure."""

import numpy as np
import pytest
import torch

from nstlab import images, stain


@pytest.fixture(scope="module")
def pair():
    """A crop of the immunohistochemistry slide restained as another lab might (source), a crop of the
    original slide (target), and the unaltered source crop (truth)."""
    ihc = images.load("immunohistochemistry", size=128)
    truth = stain.crop(ihc, 0.0, 0.0, 0.5)
    return stain.restain(truth), stain.crop(ihc, 0.05, 0.4, 0.5), truth


def test_lab_round_trip_and_achromatic_axis():
    img = images.load("retina", size=48)
    assert torch.allclose(stain.lab_to_rgb(stain.rgb_to_lab(img)), img, atol=1e-5)
    # Ruderman's opponent axes: a gray pixel (R = G = B) has (almost) no alpha and beta (Reinhard 2001)
    grays = torch.linspace(0.05, 1, 20).view(1, 1, 4, 5).expand(1, 3, 4, 5).double()
    lab = stain.rgb_to_lab(grays)
    assert lab[:, 1:].abs().max() < 2e-3
    assert (lab[0, 0].flatten().diff() > 0).all()  # l grows with brightness


def test_reinhard_matches_the_targets_lab_moments_exactly(pair):
    source, target, _ = pair
    out = stain.normalize(source.double(), target.double(), "reinhard", clamp=False)
    m_out, s_out = stain.channel_moments(out, "lab")
    m_t, s_t = stain.channel_moments(target.double(), "lab")
    np.testing.assert_allclose(m_out, m_t, atol=1e-9)
    np.testing.assert_allclose(s_out, s_t, rtol=1e-9)
    # identity: normalizing an image to itself returns it
    assert torch.allclose(stain.reinhard(target.double(), target.double()), target.double(), atol=1e-9)


def test_colour_adain_and_wct_match_the_targets_rgb_moments(pair):
    source, target, _ = pair
    s, t = source.double(), target.double()
    out = stain.normalize(s, t, "adain", clamp=False)
    for a, b in zip(stain.channel_moments(out, "rgb"), stain.channel_moments(t, "rgb"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    out = stain.normalize(s, t, "wct", clamp=False)
    cov_out, cov_t = (np.cov(x.flatten(2)[0].numpy(), bias=True) for x in (out, t))
    np.testing.assert_allclose(cov_out, cov_t, rtol=1e-6, atol=1e-9)  # the full 3x3 covariance, by numpy


def test_normalization_moves_colour_statistics_and_keeps_structure(pair):
    source, target, _ = pair
    table = stain.compare(source, target)
    for method in stain.METHODS:
        assert table[method]["moment_err_lab"] < 0.3 * table["source"]["moment_err_lab"], method
    # structure: SSIM of the standardized luminance vs the source, bounded below for the per-channel maps
    assert table["reinhard"]["ssim_vs_source"] > 0.85
    assert table["adain"]["ssim_vs_source"] > 0.85
    assert 0.5 < table["wct"]["ssim_vs_source"] <= 1.0


def test_structure_measure_ignores_brightness_and_sees_another_picture(pair):
    source, target, _ = pair
    assert stain.structure_ssim(source, source) == pytest.approx(1.0)
    assert stain.structure_ssim(0.5 * source + 0.2, source) == pytest.approx(1.0, abs=1e-6)
    assert abs(stain.structure_ssim(target, source)) < 0.3
    assert -1.0 <= stain.structure_ssim(torch.rand_like(source), source) < 0.1


def test_bad_method_is_a_clear_error(pair):
    with pytest.raises(ValueError, match="reinhard, adain, wct"):
        stain.normalize(pair[0], pair[1], "macenko")
