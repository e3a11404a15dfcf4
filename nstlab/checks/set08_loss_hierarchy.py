"""Checks of exercise set 08: the hierarchy of style losses (mean/std, per-channel 1-D OT).

L_S = sum_c (mu_c(X) - mu_c(Y))^2 + (sigma_c(X) - sigma_c(Y))^2 with sigma = sqrt(var + eps);
L_OT = sum_c W2^2 of the channel's 1-D distributions = sum_c (1/N) sum_i (sort(X_c)_i - sort(Y_c)_i)^2
(1-D optimal transport pairs sorted values). L_OT = 0 forces L_S = 0; the constructions show that the
converse fails and that per-channel OT is blind to correlations (:mod:`nstlab.losses`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import losses, stats
from ._core import construction_pair, mean_variance, say, verdict
from ._random import correlated, normal


def _mean_std_loss(X, Y, eps, var=False, ddof=0, use_mean=True, use_std=True, reduce="sum", square=True):
    """A mean/std loss variant on (C, N) matrices."""

    def sd(M):
        v = M.var(1, correction=ddof) + eps
        return v if var else v.sqrt()

    dmu, dsd = X.mean(1) - Y.mean(1), sd(X) - sd(Y)
    f = (lambda d: d.pow(2)) if square else (lambda d: d.abs())
    per_channel = use_mean * f(dmu) + use_std * f(dsd)
    return per_channel.sum() if reduce == "sum" else per_channel.mean()


def check_mean_std_loss(student_fn: Callable[..., Any]) -> bool:
    """``mean_std_loss(X, Y, eps)``: L_S = sum_c (mu_c(X) - mu_c(Y))^2 + (sigma_c(X) - sigma_c(Y))^2,
    sigma = sqrt(population variance + eps), X (C, N_x) and Y (C, N_y)."""
    gen = torch.Generator().manual_seed(801)

    def pair(C, nx, ny, dtype, eps):
        return (correlated(gen, C, nx, dtype), 3 * correlated(gen, C, ny, dtype), eps)

    cases = [
        pair(3, 8, 8, torch.float64, 1e-5),
        pair(5, 12, 7, torch.float32, 1e-5),
        pair(4, 9, 15, torch.float64, 0.5),
    ]
    msl = _mean_std_loss
    mistakes = {
        "variance instead of std: compare sigma = sqrt(var + eps)": lambda X, Y, eps: msl(
            X, Y, eps, var=True
        ),
        "mean only: L_S also compares the standard deviations": (
            lambda X, Y, eps: msl(X, Y, eps, use_std=False)
        ),
        "std only: L_S also compares the means": lambda X, Y, eps: msl(X, Y, eps, use_mean=False),
        "missing eps: sigma = sqrt(var + eps)": lambda X, Y, eps: msl(X, Y, 0.0),
        "unbiased variance (N - 1): use the population variance, var(..., correction=0)": (
            lambda X, Y, eps: msl(X, Y, eps, ddof=1)
        ),
        "averaged over channels: L_S sums over the channels c": lambda X, Y, eps: msl(
            X, Y, eps, reduce="mean"
        ),
        "absolute differences: L_S adds the squared differences": (
            lambda X, Y, eps: msl(X, Y, eps, square=False)
        ),
    }
    return verdict("mean_std_loss", student_fn, losses.mean_std_loss, cases, mistakes)


def _sorted(M: torch.Tensor) -> torch.Tensor:
    return M.sort(-1).values


def _w2_squared(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Per-channel mean squared difference of paired values (W2^2 when both are sorted)."""
    return (X - Y).pow(2).mean(-1)


def check_ot1d(student_fn: Callable[..., Any]) -> bool:
    """``ot1d(X, Y)`` with X, Y (C, N) (equal N): L_OT = sum_c (1/N) sum_i (sort(X_c)_i - sort(Y_c)_i)^2."""
    gen = torch.Generator().manual_seed(802)
    cases = [
        (correlated(gen, 3, 10), correlated(gen, 3, 10) ** 2),
        (correlated(gen, 4, 16, torch.float32), normal(gen, 4, 16, dtype=torch.float32).exp()),
        (correlated(gen, 2, 25), correlated(gen, 2, 25).sign() * 2),
    ]
    srt, w2 = _sorted, _w2_squared
    mistakes = {
        "not sorting: 1-D OT pairs the sorted values, sort(X_c)_i with sort(Y_c)_i": (
            lambda X, Y: w2(X, Y).sum()
        ),
        "sorting only one side: sort both X_c and Y_c": [
            lambda X, Y: w2(srt(X), Y).sum(),
            lambda X, Y: w2(X, srt(Y)).sum(),
        ],
        "sorted one side descending: sort both in increasing order": (
            lambda X, Y: w2(srt(X), srt(Y).flip(-1)).sum()
        ),
        "sorted along the channel axis: sort each channel over its positions (axis -1)": (
            lambda X, Y: w2(X.sort(0).values, Y.sort(0).values).sum()
        ),
        "averaged over channels: L_OT sums over the channels c": lambda X, Y: w2(srt(X), srt(Y)).mean(),
        "summed over positions: W2^2 averages the N squared differences (divide by N)": (
            lambda X, Y: (srt(X) - srt(Y)).pow(2).sum()
        ),
        "took a square root: L_OT adds W2^2, not W2": [
            lambda X, Y: losses.ot1d(X, Y).sqrt(),
            lambda X, Y: w2(srt(X), srt(Y)).sqrt().sum(),
        ],
    }
    return verdict("ot1d", student_fn, losses.ot1d, cases, mistakes)


def check_equal_moments_pair(student_fn: Callable[..., Any]) -> bool:
    """``equal_moments_pair()`` -> (X, Y), (C, N) each: L_S = 0 (same per-channel mean and std), L_OT > 0."""
    task = "equal_moments_pair"
    pair = construction_pair(task, student_fn)
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    scale = mean_variance(X, Y)
    ls, lot = float(losses.mean_std_loss(X, Y, eps=0.0)), float(losses.ot1d(X, Y))
    if ls > 1e-8 * scale:
        return say(
            task,
            False,
            f"L_S = {ls:.3g}, not 0: give every channel the same mean and "
            "std in X and Y (standardize each channel: subtract its mean, divide by its std)",
        )
    if lot < 1e-3 * scale:
        return say(
            task,
            False,
            f"L_OT = {lot:.3g} is ~0 too: the channels have the same 1-D "
            "distribution; give them different shapes (e.g. Gaussian vs two bumps)",
        )
    return say(
        task,
        True,
        f"L_S = 0 (up to rounding) while L_OT = {lot:.3g}: the mean/std loss is "
        "blind to the shape of the distribution, 1-D OT sees it",
    )


def check_equal_marginals_pair(student_fn: Callable[..., Any]) -> bool:
    """``equal_marginals_pair()`` -> (X, Y), (C, N) each: L_OT = 0 (the same values in every channel), but
    different correlations between channels, so the Gram matrices differ."""
    task = "equal_marginals_pair"
    pair = construction_pair(task, student_fn)
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    scale = mean_variance(X, Y) + float(X.mean(1).pow(2).sum())
    lot = float(losses.ot1d(X, Y))
    gram = float((stats.gram(X) - stats.gram(Y)).pow(2).sum())
    if X.shape[0] < 2:
        return say(task, False, "use at least two channels: correlations are between channels")
    if lot > 1e-8 * scale:
        return say(
            task,
            False,
            f"L_OT = {lot:.3g}, not 0: every channel of Y must hold the "
            "same values as in X (e.g. the same numbers in another order)",
        )
    if gram < 1e-3 * scale**2:
        return say(
            task,
            False,
            f"the Gram matrices agree too (||G_X - G_Y||^2 = {gram:.3g}): "
            "pair the channels differently in Y (shuffle one channel's positions)",
        )
    return say(
        task,
        True,
        f"L_OT = 0 (up to rounding) while ||G_X - G_Y||^2 = {gram:.3g}: per-channel "
        "OT is blind to correlations between channels, the Gram matrix sees them",
    )
