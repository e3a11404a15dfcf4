"""Checks of set 10 (checkerboard artifacts: overlap pattern, artifact frequency, dominant frequency,
resize-convolution): each passes nstlab's reference and a correct implementation in numpy, and names
every listed mistake; the dominant-frequency check accepts any of tied largest bins."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from check_harness import run

from nstlab import artifacts, checks


def _np(x):
    return x.detach().double().numpy()


def overlap_loops(k, s, n_in, step=None):
    out = np.zeros((n_in - 1) * (step or s) + k, dtype=np.int64)
    for i in range(n_in):
        for t in range(k):
            out[i * (step or s) + t] += 1
    return torch.from_numpy(out)


def test_overlap_pattern_check(capsys):
    assert run(checks.check_overlap_pattern, artifacts.overlap_pattern, capsys)[0]
    assert run(checks.check_overlap_pattern, overlap_loops, capsys)[0]
    ok, out = run(checks.check_overlap_pattern, lambda k, s, n: overlap_loops(k, s, n, step=k), capsys)
    assert not ok and "period k instead of s" in out


def test_artifact_frequency_check(capsys):
    assert run(checks.check_artifact_frequency, lambda k, s: 0.0 if k % s == 0 else 1.0 / s, capsys)[0]
    ok, out = run(checks.check_artifact_frequency, lambda k, s: 1.0 / k, capsys)
    assert not ok and "frequency 1/k" in out
    ok, out = run(checks.check_artifact_frequency, lambda k, s: 1.0 / s, capsys)
    assert not ok and "s divides k" in out


def magnitudes(x, remove_mean=True):
    a = _np(x)
    return np.abs(np.fft.rfft(a - a.mean() if remove_mean else a))


def is_flat(x):
    a = _np(x)
    return magnitudes(x)[1:].max() < 1e-9 * (np.abs(a).sum() + 1e-300)


def dominant_np(x, remove_mean=True, index=False, period=False):
    """First of the tied maxima (np.argmax); the knobs make the listed mistakes."""
    if remove_mean and is_flat(x):
        return 0.0
    mag = magnitudes(x, remove_mean)
    k = int(np.argmax(mag[1:]) + 1) if remove_mean else int(np.argmax(mag))
    return float(k if index else len(x) / k if period else k / len(x))


def dominant_last_of_ties(x):
    """A student's loop: keep the later bin when it is at least as large (up to rounding): the last tie."""
    if is_flat(x):
        return 0.0
    mag = magnitudes(x)
    best = 1
    for m in range(2, len(mag)):
        if mag[m] >= mag[best] * (1 - 1e-9):
            best = m
    return best / len(x)


def dominant_reversed_argmax(x):
    """np.argmax of the reversed spectrum: the last of the exactly equal maxima."""
    if is_flat(x):
        return 0.0
    ac = magnitudes(x)[1:]
    return float(len(ac) - np.argmax(ac[::-1])) / len(x)


def second_largest(x):
    """A wrong answer no listed mistake explains: the second-largest distinct bin."""
    if is_flat(x):
        return 0.0
    ac = magnitudes(x)[1:]
    below = np.where(ac < ac.max() * (1 - 1e-6), ac, -1.0)
    return float(np.argmax(below) + 1) / len(x)


def interior_pattern(k, s):
    return artifacts.interior(artifacts.overlap_pattern(k, s, 40).double(), k, s)


@pytest.mark.parametrize(
    "fn",
    [artifacts.dominant_frequency, dominant_np, dominant_last_of_ties, dominant_reversed_argmax],
    ids=lambda f: f.__name__,
)
def test_dominant_frequency_check_passes_first_and_last_of_tied_maxima(fn, capsys):
    ok, out = run(checks.check_dominant_frequency, fn, capsys)
    assert ok and out.startswith("✔") and checks.TIE_RULE in out, out


@pytest.mark.parametrize(("k", "s"), [(5, 4), (7, 4)])
def test_the_tie_is_real_and_the_two_answers_differ(k, s):
    """(k, s) = (5, 4), (7, 4): the bins 1/4 and 1/2 have equal magnitude, so first and last differ."""
    x = interior_pattern(k, s)
    mag, L = magnitudes(x), x.shape[0]
    assert mag[L // 4] == pytest.approx(mag[L // 2], rel=1e-12) and mag[L // 4] > 0
    assert dominant_np(x) == 0.25 and dominant_last_of_ties(x) == 0.5
    assert checks.dominant_frequencies(x) == pytest.approx([0.25, 0.5])


def test_the_check_contains_a_tie(capsys):
    """On the check's own inputs, the first-of-ties and last-of-ties students answer differently at least
    once, so their both passing tests the tie rule (it is not vacuous)."""
    answers = {"first": [], "last": []}

    def spy(fn, key):
        return lambda x: answers[key].append(fn(x)) or answers[key][-1]

    assert checks.check_dominant_frequency(spy(dominant_np, "first"))
    assert checks.check_dominant_frequency(spy(dominant_last_of_ties, "last"))
    assert len(answers["first"]) == len(answers["last"]) >= 5
    assert any(abs(a - b) > 1e-3 for a, b in zip(answers["first"], answers["last"], strict=True))


def test_the_strongest_bin_can_be_a_harmonic():
    """A random 7-tap kernel with stride 5 (the check's case): the strongest bin is 2/5, not 1/s = 1/5,
    while all the AC power sits at multiples of 1/s."""
    x = artifacts.interior(artifacts.transposed_conv_output(7, 5, 40, kernel="random", seed=0), 7, 5)
    assert dominant_np(x) == pytest.approx(0.4)
    mag, L = magnitudes(x), x.shape[0]
    on_multiples = sum(mag[m] ** 2 for m in range(L // 5, len(mag), L // 5))
    assert on_multiples == pytest.approx((mag[1:] ** 2).sum(), rel=1e-9)


@pytest.mark.parametrize(
    ("wrong", "phrase"),
    [
        (lambda x: dominant_np(x, remove_mean=False), "remove the mean"),
        (lambda x: dominant_np(x, index=True), "bin index"),
        (lambda x: dominant_np(x, period=True), "period instead of frequency"),
    ],
    ids=["DC bin", "index", "period"],
)
def test_dominant_frequency_check_names_the_mistake(wrong, phrase, capsys):
    ok, out = run(checks.check_dominant_frequency, wrong, capsys)
    assert not ok and out.startswith("✘") and phrase in out, out


def test_a_wrong_bin_fails_and_the_line_states_the_tie_rule(capsys):
    ok, out = run(checks.check_dominant_frequency, second_largest, capsys)
    assert not ok and "values differ" in out and checks.TIE_RULE in out, out


@pytest.mark.parametrize("k", range(2, 9))
@pytest.mark.parametrize("s", range(2, 6))
def test_tied_frequencies_are_multiples_of_one_over_s_and_agree_with_the_library(k, s):
    """On uniform- and random-kernel overlap patterns every tied frequency is a multiple of 1/s. The library
    maximizes the one-sided power (the Nyquist bin 1/2 counted once, the others twice), so it agrees with
    the lowest tied magnitude whenever 1/2 is not among the ties, and gives 1/s for a uniform kernel."""
    uniform = interior_pattern(k, s)
    random = artifacts.interior(artifacts.transposed_conv_output(k, s, 40, kernel="random", seed=k * s), k, s)
    for x in (uniform, random):
        tied = checks.dominant_frequencies(x)
        assert all(abs(f * s - round(f * s)) < 1e-9 for f in tied), tied
        if all(abs(f - 0.5) > 1e-12 for f in tied):
            assert artifacts.dominant_frequency(x) == pytest.approx(min(tied), abs=1e-12)
    assert artifacts.dominant_frequency(uniform) == pytest.approx(0.0 if k % s == 0 else 1 / s, abs=1e-12)


def resize_np(x, kernel, s, zeros=False, pad="edge", flip=False):
    a, w = _np(x), _np(kernel)
    k = len(w)
    if zeros:
        up = np.zeros(len(a) * s)
        up[::s] = a
    else:
        up = np.repeat(a, s)
    padded = np.pad(up, ((k - 1) // 2, k // 2), mode=pad)
    return torch.from_numpy(np.convolve(padded, w if flip else w[::-1], mode="valid"))


def test_resize_conv_check(capsys):
    assert run(checks.check_resize_conv, resize_np, capsys)[0]
    for name, fn in {
        "transposed convolution": lambda x, w, s: resize_np(x, w, s, zeros=True),
        "zero padding": lambda x, w, s: resize_np(x, w, s, pad="constant"),
        "flipped kernel": lambda x, w, s: resize_np(x, w, s, flip=True),
    }.items():
        ok, out = run(checks.check_resize_conv, fn, capsys)
        assert not ok and name in out, (name, out)


def test_resize_conv_reference_is_the_library_on_constants():
    """On a constant input the numpy resize-convolution equals nstlab.artifacts.resize_conv_output."""
    w = torch.randn(5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = resize_np(torch.ones(9, dtype=torch.float64), w, 3)
    lib = artifacts.resize_conv_output(5, 3, 9, 1, w)
    assert torch.allclose(ours, lib)
    assert torch.allclose(ours, w.sum().expand_as(ours))
