"""Checks of exercise set 09: the Wasserstein distance sees what the Gram matrix misses.

Two clouds with equal mean and covariance have equal Gram matrices, yet W2 > 0 when their shapes differ;
sliced W2: SW2^2 = (1/L) sum_l W2^2(theta_l^T X, theta_l^T Y) over unit directions theta_l, each a 1-D
OT problem solved by sorting (Rabin et al. 2011; :func:`nstlab.losses.ot1d`, :func:`nstlab.losses.exact_w2`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import losses, stats
from ._core import construction_pair, mean_variance, say, verdict
from ._random import correlated, normal


def check_equal_covariance_clouds(student_fn: Callable[..., Any]) -> bool:
    """``equal_covariance_clouds(n, seed)`` -> (X, Y), (2, n) each: equal mean and covariance (so equal Gram
    matrices) but different geometry (exact W2 > 0)."""
    task = "equal_covariance_clouds"
    pair = construction_pair(task, student_fn, (256, 901))
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    if X.shape[1] != 256:
        return say(task, False, f"asked for n = 256 points, got {X.shape[1]}")
    scale = mean_variance(X, Y)
    dmu = float((X.mean(1) - Y.mean(1)).pow(2).sum())
    dcov = float((stats.covariance(X) - stats.covariance(Y)).abs().max())
    if dmu > 1e-10 * scale:
        return say(task, False, f"the means differ (||mu_X - mu_Y||^2 = {dmu:.3g}): center both clouds")
    if dcov > 1e-8 * scale:
        return say(
            task,
            False,
            f"the covariances differ (max entry error {dcov:.3g}): whiten each cloud "
            "exactly, z = S^{-1/2} (x - mu) with the population covariance (divide by N)",
        )
    w2 = float(losses.exact_w2(X, Y))
    if w2 < 1e-2 * scale:
        return say(
            task,
            False,
            f"W2^2 = {w2:.3g} is ~0: the clouds have the same geometry; use two different "
            "shapes (e.g. a Gaussian blob and a ring)",
        )
    return say(task, True, f"Gram matrices equal (up to rounding) while W2^2 = {w2:.3g}")


def _sliced(X, Y, theta, normalize=True, sort=True, reduce="mean", root=False):
    """A sliced-W2 variant with the directions theta (L, C)."""
    T = theta.to(torch.float64)
    if normalize:
        T = T / T.norm(dim=1, keepdim=True)
    T = T.to(X.dtype)
    PX, PY = T @ X, T @ Y
    if sort:
        PX, PY = PX.sort(-1).values, PY.sort(-1).values
    per_direction = (PX - PY).pow(2).mean(-1)
    if root:
        per_direction = per_direction.sqrt()
    return per_direction.mean() if reduce == "mean" else per_direction.sum()


def _sliced_reference(X: torch.Tensor, Y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    T = (theta.to(torch.float64) / theta.to(torch.float64).norm(dim=1, keepdim=True)).to(X.dtype)
    return losses.ot1d(T @ X, T @ Y) / T.shape[0]


def check_sliced_w2(student_fn: Callable[..., Any]) -> bool:
    """``sliced_w2(X, Y, theta)``, X and Y (C, N), theta (L, C) directions (normalize them):
    SW2^2 = (1/L) sum_l W2^2(theta_l^T X, theta_l^T Y) with unit theta_l."""
    gen = torch.Generator().manual_seed(902)
    cases = [
        (correlated(gen, 2, 50), correlated(gen, 2, 50) ** 2, 3 * normal(gen, 8, 2)),
        (
            correlated(gen, 3, 40, torch.float32),
            normal(gen, 3, 40, dtype=torch.float32),
            normal(gen, 16, 3),
        ),
        (
            correlated(gen, 4, 30),
            correlated(gen, 4, 30).exp(),
            losses.random_directions(4, 12, torch.Generator().manual_seed(9)),
        ),
    ]
    mistakes = {
        "directions not normalized to unit length: divide each theta_l by its norm": (
            lambda X, Y, t: _sliced(X, Y, t, normalize=False)
        ),
        "W2 instead of W2^2: do not take a square root": [
            lambda X, Y, t: _sliced(X, Y, t).sqrt(),
            lambda X, Y, t: _sliced(X, Y, t, root=True),
        ],
        "summed over directions: SW2^2 is the mean over the L directions": (
            lambda X, Y, t: _sliced(X, Y, t, reduce="sum")
        ),
        "not sorting the projections: 1-D OT pairs sorted values": lambda X, Y, t: _sliced(
            X, Y, t, sort=False
        ),
    }
    return verdict("sliced_w2", student_fn, _sliced_reference, cases, mistakes)
