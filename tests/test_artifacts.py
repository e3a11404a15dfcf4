"""Tests of nstlab.artifacts: overlap counts from first principles, spectra of known signals."""

from __future__ import annotations

import math

import pytest
import torch

from nstlab import artifacts, color, images

GRID = [(k, s) for s in (2, 3, 4) for k in range(1, 10)]


def overlap_by_counting(k: int, s: int, n_in: int) -> list[int]:
    """Input pixel i writes to outputs s*i .. s*i + k - 1: count the writers of each output pixel."""
    length = (n_in - 1) * s + k
    return [sum(1 for i in range(n_in) if 0 <= j - s * i < k) for j in range(length)]


@pytest.mark.parametrize("k,s", GRID)
def test_overlap_pattern_counts_the_taps_hitting_each_pixel(k, s):
    assert artifacts.overlap_pattern(k, s, n_in=8).tolist() == overlap_by_counting(k, s, 8)


def test_overlap_pattern_k3_s2_alternates_in_the_interior():
    pattern = artifacts.overlap_pattern(3, 2, n_in=10)
    inner = artifacts.interior(pattern, 3).tolist()
    assert inner[:6] == [2, 1, 2, 1, 2, 1]  # even pixels get taps 0 and 2, odd pixels tap 1
    assert pattern.tolist()[:3] == [1, 1, 2] and pattern.tolist()[-2:] == [1, 1]


@pytest.mark.parametrize("k,s", GRID)
def test_interior_count_is_ceil_of_k_minus_residue_over_s(k, s):
    inner = artifacts.interior(artifacts.overlap_pattern(k, s, n_in=12), k)
    first = k - 1  # the interior starts at output pixel k - 1
    expected = [math.ceil((k - (j % s)) / s) for j in range(first, first + len(inner))]
    assert inner.tolist() == expected


def test_2d_overlap_is_the_outer_product_of_1d():
    one = artifacts.overlap_pattern(5, 3, n_in=6)
    assert torch.equal(artifacts.overlap_pattern(5, 3, n_in=6, ndim=2), torch.outer(one, one))


@pytest.mark.parametrize("k,s", GRID)
def test_dominant_frequency_is_one_over_s_unless_s_divides_k(k, s):
    r1, r2 = artifacts.compare_upsampling(k, s), artifacts.compare_upsampling(k, s, ndim=2)
    if k % s:
        assert r1["overlap_frequency"] == pytest.approx(1 / s)
        assert r1["overlap_strength"] == pytest.approx(1.0)
        assert max(r2["overlap_frequency"]) == pytest.approx(1 / s)
        assert all(f in (0.0, pytest.approx(1 / s)) for f in r2["overlap_frequency"])
    else:  # even overlap: a flat interior, no checkerboard
        assert len(set(artifacts.interior(r1["overlap"], k).tolist())) == 1
        assert r1["overlap_frequency"] == 0.0 and r1["overlap_strength"] == 0.0
        assert r2["overlap_frequency"] == (0.0, 0.0) and r2["overlap_strength"] == 0.0
    for r in (r1, r2):
        assert r["resize_strength"] == 0.0


@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (6, 3), (5, 4)])
def test_random_kernel_output_is_the_residue_sums_and_periodic_even_when_s_divides_k(k, s):
    w = torch.randn(k, generator=torch.Generator().manual_seed(k * 10 + s), dtype=torch.float64)
    out = artifacts.transposed_conv_output(k, s, n_in=10, kernel=w)
    inner = artifacts.interior(out, k)
    expected = [
        sum(w[t].item() for t in range(k) if t % s == j % s) for j in range(k - 1, k - 1 + len(inner))
    ]
    torch.testing.assert_close(inner, torch.tensor(expected, dtype=torch.float64))
    assert artifacts.checkerboard_strength(inner, s) == pytest.approx(1.0)


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("kernel", ["ones", "random"])
def test_resize_convolution_of_a_constant_is_flat(ndim, kernel):
    for k, s in [(3, 2), (4, 3), (5, 2)]:
        out = artifacts.resize_conv_output(k, s, n_in=8, ndim=ndim, kernel=kernel, seed=1)
        assert out.shape == (8 * s,) * ndim
        assert torch.allclose(out, out.flatten()[0].expand_as(out), rtol=0, atol=1e-12)
        assert artifacts.checkerboard_strength(out, s) == 0.0
        assert artifacts.dominant_frequency(out) in (0.0, (0.0, 0.0))


def test_spectrum_of_a_cosine():
    L, f = 64, 5 / 64
    x = torch.cos(2 * math.pi * f * torch.arange(L, dtype=torch.float64)) + 3.0
    freqs, mag = artifacts.spectrum(x)
    assert freqs[5].item() == pytest.approx(f) and mag[5].item() == pytest.approx(L / 2)
    assert mag[0].item() == pytest.approx(0.0, abs=1e-9)  # mean removed
    assert artifacts.dominant_frequency(x) == pytest.approx(f)
    (fy, fx), mag2 = artifacts.spectrum(x[None].expand(8, L))
    assert mag2.shape == (8, L) and fx[5].item() == pytest.approx(f) and fy.shape == (8,)


def test_checkerboard_strength_of_known_signals():
    n = torch.arange(60, dtype=torch.float64)
    assert artifacts.checkerboard_strength(torch.cos(math.pi * n), 2) == pytest.approx(1.0)
    assert artifacts.checkerboard_strength(torch.cos(2 * math.pi * n / 3), 3) == pytest.approx(1.0)
    assert artifacts.checkerboard_strength(torch.cos(2 * math.pi * 7 * n / 60), 2) == pytest.approx(
        0.0, abs=1e-20
    )
    checker, other = torch.cos(math.pi * n), torch.cos(2 * math.pi * 7 * n / 60)  # orthogonal components
    share = checker.pow(2).sum() / (checker.pow(2).sum() + other.pow(2).sum())  # Parseval: energy share
    assert artifacts.checkerboard_strength(checker + other, 2) == pytest.approx(share.item())
    noise = torch.randn(64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert artifacts.checkerboard_strength(noise, 2) < 0.01
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    board = ((yy + xx) % 2).to(torch.float64)
    assert artifacts.checkerboard_strength(board, 2) == pytest.approx(1.0)
    assert artifacts.dominant_frequency(board) == (0.5, 0.5)


def test_artifacts_bad_inputs():
    with pytest.raises(ValueError, match="ndim"):
        artifacts.overlap_pattern(3, 2, ndim=3)
    with pytest.raises(ValueError, match="stride"):
        artifacts.transposed_conv_output(3, 0)
    with pytest.raises(ValueError, match="unknown kernel"):
        artifacts.transposed_conv_output(3, 2, kernel="gauss")
    with pytest.raises(ValueError, match="kernel must have shape"):
        artifacts.resize_conv_output(3, 2, kernel=torch.ones(4))
    with pytest.raises(ValueError, match="1-D"):
        artifacts.spectrum(torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="NaN"):
        artifacts.checkerboard_strength(torch.tensor([1.0, float("nan"), 0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="no interior"):
        artifacts.interior(torch.ones(4), 3)


# ---- zero insertion and upsampling layers ----


@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (5, 3), (2, 1)])
def test_zero_insertion_then_full_convolution_is_the_transposed_convolution(k, s):
    import numpy as np
    import scipy.signal
    import torch.nn.functional as nnf

    gen = torch.Generator().manual_seed(k * 10 + s)
    x = torch.randn(7, generator=gen, dtype=torch.float64)
    w = torch.randn(k, generator=gen, dtype=torch.float64)
    up = artifacts.zero_insertion(x, s)
    assert up.shape == ((7 - 1) * s + 1,)
    off_grid = torch.arange(up.numel()) % s != 0
    assert torch.equal(up[::s], x) and float(up[off_grid].abs().sum()) == 0.0
    reference = nnf.conv_transpose1d(x[None, None], w[None, None], stride=s)[0, 0].numpy()
    np.testing.assert_allclose(np.convolve(up.numpy(), w.numpy(), mode="full"), reference, atol=1e-12)
    x2 = torch.randn(5, 6, generator=gen, dtype=torch.float64)
    w2 = torch.randn(k, k, generator=gen, dtype=torch.float64)
    up2 = artifacts.zero_insertion(x2, s).numpy()
    reference2 = nnf.conv_transpose2d(x2[None, None], w2[None, None], stride=s)[0, 0].numpy()
    np.testing.assert_allclose(scipy.signal.convolve2d(up2, w2.numpy(), mode="full"), reference2, atol=1e-12)


@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (5, 3)])
def test_upsample_transposed_counts_overlaps_and_resize_keeps_a_constant_flat(k, s):
    ones = torch.ones(1, 1, 6, 6, dtype=torch.float64)
    counts = artifacts.upsample(ones, torch.ones(1, 1, k, k), s, "transposed")[0, 0]
    by_hand = torch.tensor(overlap_by_counting(k, s, 6), dtype=torch.float64)
    assert torch.equal(counts, torch.outer(by_hand, by_hand))
    w = torch.randn(2, 1, k, k, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
    out = artifacts.upsample(ones, w, s, "resize")
    assert out.shape == (1, 2, 6 * s, 6 * s)
    for c in range(2):
        assert torch.allclose(out[0, c], w[c].sum().expand(6 * s, 6 * s), atol=1e-12)


def test_upsample_resize_is_nearest_repeat_then_correlation():
    import numpy as np
    import scipy.signal

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 4, 5, generator=gen, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, generator=gen, dtype=torch.float64)
    rep = np.repeat(np.repeat(x[0, 0].numpy(), 2, axis=0), 2, axis=1)
    padded = np.pad(rep, 1, mode="edge")
    expected = scipy.signal.correlate2d(padded, w[0, 0].numpy(), mode="valid")
    np.testing.assert_allclose(artifacts.upsample(x, w, 2, "resize")[0, 0].numpy(), expected, atol=1e-12)


def test_upsample_and_zero_insertion_bad_inputs():
    x = torch.ones(1, 2, 4, 4)
    with pytest.raises(ValueError, match="method"):
        artifacts.upsample(x, torch.ones(1, 2, 3, 3), 2, "bilinear")
    with pytest.raises(ValueError, match="C_in"):
        artifacts.upsample(x, torch.ones(1, 3, 3, 3), 2)
    with pytest.raises(ValueError, match="stride"):
        artifacts.zero_insertion(torch.ones(4), 0)


@pytest.mark.parametrize(("k", "s"), [(6, 5), (9, 5)])
def test_dominant_frequency_of_one_spike_per_period_is_the_fundamental(k, s):
    # the interior pattern has one spike per period s: every harmonic has the same power, so the tie
    # must go to the lowest frequency, 1/s
    pattern = artifacts.interior(artifacts.overlap_pattern(k, s, n_in=40), k, s)
    assert artifacts.dominant_frequency(pattern) == pytest.approx(1 / s)


# ---- checkerboards in pictures ------------------------------------------------------------------------


def test_nyquist_peak_detects_a_planted_checkerboard():
    smooth = images.load("coffee", size=128)
    yy, xx = torch.meshgrid(torch.arange(smooth.shape[-2]), torch.arange(smooth.shape[-1]), indexing="ij")
    board = ((yy + xx) % 2).float() * 0.05
    assert artifacts.nyquist_peak(smooth) < 10
    assert artifacts.nyquist_peak((smooth + board).clamp(0, 1)) > 100 * artifacts.nyquist_peak(smooth)


def test_luminance_signal_is_the_rec601_luminance_cropped_to_even_sizes():
    img = torch.rand(1, 3, 9, 12, generator=torch.Generator().manual_seed(3))
    y = artifacts.luminance_signal(img)
    assert y.shape == (8, 12) and y.dtype == torch.float64
    torch.testing.assert_close(y, color.luminance(img.double())[0, 0, :8])
    # a pixel-level checkerboard is a pure 1/2 cycles/pixel signal: all its AC power at period 2
    board = (torch.arange(8)[:, None] + torch.arange(12)[None, :]) % 2
    assert (
        artifacts.checkerboard_strength(artifacts.luminance_signal(board.expand(1, 3, 8, 12).float()), 2) == 1
    )
    with pytest.raises(ValueError, match=r"one image \(1, 3, H, W\)"):
        artifacts.luminance_signal(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="2-D"):
        artifacts.hann_windowed(torch.rand(8, dtype=torch.float64))
