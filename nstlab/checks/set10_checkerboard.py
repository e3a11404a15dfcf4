"""Checks of exercise set 10: checkerboard artifacts of transposed convolution, and resize-convolution.

A 1-D transposed convolution (kernel k, stride s, no padding) gives interior output j the taps
t = j (mod s): ceil((k - j mod s) / s) of them for a uniform kernel, a pattern of period s whose power
sits at multiples of 1/s (the fundamental 1/s, or none when s divides k). Nearest upsampling followed by a
stride-1 convolution applies every tap to every output instead (Odena, Dumoulin & Olah 2016,
"Deconvolution and Checkerboard Artifacts", Distill; :mod:`nstlab.artifacts`).

The strongest DFT bin of such a pattern need not be 1/s: for (k, s) = (5, 4) or (7, 4) the bins 1/4 and
1/2 have equal magnitude |rfft|, and for a random kernel a harmonic 2/s can win. The dominant-frequency
check therefore accepts every bin tied with the largest one (:data:`TIE_RULE`). (The one-sided power of
:func:`nstlab.artifacts.dominant_frequency` counts the Nyquist bin 1/2 once and the others twice: there
1/4 carries twice the power of 1/2 and 1/s wins for every uniform kernel.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as nnf

from .. import artifacts
from ._core import Args, OneOf, verdict
from ._random import normal


def _counts(k: int, s: int, n_in: int, step: int) -> torch.Tensor:
    """Taps per output when input pixel i writes its k taps from output i * step on."""
    out = torch.zeros((n_in - 1) * step + k, dtype=torch.int64)
    for i in range(n_in):
        out[i * step : i * step + k] += 1
    return out


def _interior_formula(k: int, s: int, n: int) -> torch.Tensor:
    j = torch.arange((n - 1) * s + k)
    return -torch.div(-(k - j % s), s, rounding_mode="floor")


def check_overlap_pattern(student_fn: Callable[..., Any]) -> bool:
    """``overlap_pattern(k, s, n_in)``: how many kernel taps of a 1-D transposed convolution (kernel k,
    stride s, no padding) hit each of the (n_in - 1) s + k output pixels."""
    cases = [(3, 2, 6), (4, 2, 5), (5, 3, 6), (2, 3, 5), (7, 4, 5), (1, 1, 4)]
    mistakes = {
        "period k instead of s: input pixel i lands at output i * s (the stride), not i * k": (
            lambda k, s, n: _counts(k, s, n, k)
        ),
        "interior formula at the borders: near both ends fewer input pixels contribute": _interior_formula,
        "counted input pixels per output with stride 1: input pixel i covers outputs i*s .. i*s + k - 1": (
            lambda k, s, n: _counts(k, s, n, 1)
        ),
    }
    return verdict("overlap_pattern", student_fn, artifacts.overlap_pattern, cases, mistakes)


_FREQUENCY_CASES = [(3, 2), (4, 2), (5, 3), (6, 3), (5, 4), (7, 4), (8, 4), (2, 3), (3, 1), (7, 5)]


def check_artifact_frequency(student_fn: Callable[..., Any]) -> bool:
    """``artifact_frequency(k, s)``: the frequency (cycles/pixel) of the checkerboard of a transposed
    convolution with kernel k and stride s: 1/s, or 0 when s divides k (even overlap, no artifact)."""

    def reference(k: int, s: int) -> float:
        return artifacts.dominant_frequency(artifacts.interior(artifacts.overlap_pattern(k, s, 32), k, s))

    mistakes = {
        "frequency 1/k: the pattern repeats with the stride s, frequency 1/s": lambda k, s: 1 / k,
        "period instead of frequency: the frequency is 1/s cycles/pixel": lambda k, s: (
            float(s) if k % s else 0.0
        ),
        "always 1/s: when s divides k every pixel gets k/s taps, no artifact (frequency 0)": lambda k, s: (
            1 / s
        ),
    }
    cases = [(k, s) for k, s in _FREQUENCY_CASES]
    return verdict("artifact_frequency", student_fn, reference, cases, mistakes, atol=1e-9)


TIE_RTOL = 1e-6
"""Bins whose magnitude is within this relative distance of the largest count as tied with it."""

TIE_RULE = (
    "where the largest bins tie (equal magnitude up to rounding, as 1/4 and 1/2 for k = 5, s = 4), "
    "any of them counts"
)


def dominant_frequencies(x: torch.Tensor) -> list[float]:
    """Every frequency m/L (m >= 1, cycles/pixel) whose |rfft(x - mean(x))| is the largest up to a relative
    :data:`TIE_RTOL`, lowest first; [0.0] for a flat signal (as :func:`nstlab.artifacts.dominant_frequency`
    decides). One element unless bins tie."""
    if artifacts.dominant_frequency(x) == 0.0:
        return [0.0]
    freqs, magnitude = artifacts.spectrum(x)
    ac = magnitude[1:]
    return [float(f) for f in freqs[1:][ac >= ac.max() * (1 - TIE_RTOL)]]


def _dominant_cases() -> list[Args]:
    """Noisy sinusoids, uniform-kernel overlap patterns (one with tied bins), a random-kernel pattern whose
    harmonic 2/5 beats its fundamental 1/5, and a constant."""
    gen = torch.Generator().manual_seed(1003)
    t = torch.arange(64, dtype=torch.float64)
    return [
        (5 + torch.cos(2 * torch.pi * 5 * t / 64) + 0.1 * normal(gen, 64),),
        (artifacts.interior(artifacts.overlap_pattern(3, 2, 40).double(), 3, 2),),
        (artifacts.interior(artifacts.overlap_pattern(7, 3, 40).double(), 7, 3),),
        (3 - 2 * torch.sin(2 * torch.pi * 12 * t[:60] / 60) + 0.2 * normal(gen, 60),),
        (artifacts.interior(artifacts.overlap_pattern(5, 4, 40).double(), 5, 4),),
        (artifacts.interior(artifacts.transposed_conv_output(7, 5, 40, kernel="random", seed=0), 7, 5),),
        (torch.full((48,), 2.0, dtype=torch.float64),),
    ]


def check_dominant_frequency(student_fn: Callable[..., Any]) -> bool:
    """``dominant_frequency(x)`` of a 1-D signal: the frequency k/L (cycles/pixel) of the largest bin of
    |rfft(x - mean(x))| for k >= 1; 0 for a constant signal. Where the largest bins tie (1/4 and 1/2 for the
    interior of k = 5, s = 4), any of them is right: first, last or another of the tied maxima."""

    def tied(transform: Callable[[float, int], float]) -> Callable[[torch.Tensor], OneOf]:
        return lambda x: OneOf(tuple(transform(f, x.shape[0]) for f in dominant_frequencies(x)))

    mistakes = {
        "frequency 0: remove the mean (or skip the DC bin k = 0) before taking the largest bin": (
            lambda x: 0.0
        ),
        "bin index instead of cycles/pixel: divide the index k by the length L": tied(lambda f, L: f * L),
        "period instead of frequency: return k / L, not L / k": tied(lambda f, L: 1 / f),
    }
    return verdict(
        "dominant_frequency",
        student_fn,
        tied(lambda f, L: f),
        _dominant_cases(),
        mistakes,
        atol=1e-9,
        rule=TIE_RULE,
    )


def _resize_conv(
    x: torch.Tensor,
    kernel: torch.Tensor,
    s: int,
    upsample: str = "nearest",
    pad: str = "replicate",
    flip: bool = False,
) -> torch.Tensor:
    """Nearest upsampling by s, replicate padding ((k-1)//2, k//2), stride-1 cross-correlation (1-D)."""
    k = kernel.shape[0]
    x64 = x.to(torch.float64)
    if upsample == "nearest":
        up = x64.repeat_interleave(s)
    else:  # zeros between the pixels, as a transposed convolution does
        up = torch.zeros(x64.shape[0] * s, dtype=torch.float64)
        up[::s] = x64
    w = kernel.to(torch.float64).flip(0) if flip else kernel.to(torch.float64)
    padded = nnf.pad(up[None, None], ((k - 1) // 2, k // 2), mode=pad)
    return nnf.conv1d(padded, w[None, None])[0, 0]


def check_resize_conv(student_fn: Callable[..., Any]) -> bool:
    """``resize_conv(x, kernel, s)`` of a 1-D signal: nearest upsampling by s (each pixel repeated s times),
    replicate padding ((k-1)//2 before, k//2 after), then a stride-1 cross-correlation with the kernel
    (like torch's conv1d). Output length len(x) * s. On a constant input it equals
    :func:`nstlab.artifacts.resize_conv_output`."""
    gen = torch.Generator().manual_seed(1004)
    cases = [
        (torch.ones(8, dtype=torch.float64), normal(gen, 3), 2),
        (normal(gen, 10), normal(gen, 4), 2),
        (normal(gen, 7).exp(), normal(gen, 5), 3),
        (torch.ones(6, dtype=torch.float64), normal(gen, 4), 3),
    ]

    def reference(x, kernel, s):
        if bool((x == 1).all()):
            return artifacts.resize_conv_output(kernel.shape[0], s, x.shape[0], 1, kernel)
        return _resize_conv(x, kernel, s)

    mistakes = {
        "inserted zeros between pixels (that is the transposed convolution: the checkerboard stays); "
        "repeat every pixel s times (nearest upsampling)": lambda x, w, s: _resize_conv(x, w, s, "zeros"),
        "zero padding: the border dips; pad by repeating the edge pixel (replicate)": (
            lambda x, w, s: _resize_conv(x, w, s, pad="constant")
        ),
        "flipped kernel (np.convolve flips): use cross-correlation like torch's conv1d": (
            lambda x, w, s: _resize_conv(x, w, s, flip=True)
        ),
    }
    return verdict("resize_conv", student_fn, reference, cases, mistakes)
