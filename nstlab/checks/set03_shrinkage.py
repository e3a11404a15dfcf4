"""Checks of exercise set 03: how noisy Gram entries are, and shrinkage toward a target.

Var(G_ij) = (S_ij^2 + S_ii S_jj) / N for G = F F^T / N with Gaussian columns of covariance S
(Isserlis' theorem); G_lam = (1 - lam) G + lam T (Ledoit & Wolf 2004), whose best lam over trials is a
one-dimensional least-squares problem (:func:`optimal_lambda_reference`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import stats
from ._core import Args, verdict
from ._random import normal, spd


def _grams(F: torch.Tensor) -> torch.Tensor:
    return F @ F.transpose(-1, -2) / F.shape[-1]


def check_gram_entry_variance(student_fn: Callable[..., Any]) -> bool:
    """``gram_entry_variance(F_trials)``: unbiased variance over trials (T, C, N) of G = F F^T / N."""
    gen = torch.Generator().manual_seed(104)
    cases = [
        (normal(gen, 50, 3, 8),),
        (normal(gen, 30, 4, 5, dtype=torch.float32),),
        (1.7 * normal(gen, 40, 2, 20),),
    ]
    mistakes = {
        "standard deviation instead of variance (Var is the square of the std)": [
            lambda F: _grams(F).std(0),
            lambda F: _grams(F).std(0, correction=0),
        ],
        "missing 1/N: G = F F^T / N (without it every entry is N times larger, its variance N^2 times)": [
            lambda F: (F @ F.transpose(-1, -2)).var(0),
            lambda F: (F @ F.transpose(-1, -2)).var(0, correction=0),
        ],
        "divided by T instead of T - 1: use the unbiased variance over trials (torch's .var default)": (
            lambda F: _grams(F).var(0, correction=0)
        ),
        "divided by C*N instead of N in the Gram matrix": lambda F: (_grams(F) / F.shape[1]).var(0),
    }
    return verdict("gram_entry_variance", student_fn, lambda F: _grams(F).var(0), cases, mistakes)


def _isserlis_parts(S: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """S_ii S_jj and S_ij^2, the two terms of Var(f_i f_j)."""
    d = S.diagonal()
    return d[:, None] * d[None, :], S**2


def check_gram_entry_variance_theory(student_fn: Callable[..., Any]) -> bool:
    """``gram_entry_variance_theory(S, N)``: Isserlis' Var(G_ij) = (S_ij^2 + S_ii S_jj) / N, (C, C)."""
    gen = torch.Generator().manual_seed(105)
    cases = [(spd(gen, 3), 10), (spd(gen, 4, torch.float32), 100), (spd(gen, 2), 7)]
    parts = _isserlis_parts

    mistakes = {
        "missing 1/N: G averages N independent products, so its variance is Var(f_i f_j) / N": (
            lambda S, N: sum(parts(S))
        ),
        "dropped the S_ij^2 term: Var(f_i f_j) = E[f_i^2 f_j^2] - S_ij^2 = S_ii S_jj + 2 S_ij^2 - S_ij^2": (
            lambda S, N: parts(S)[0] / N
        ),
        "used the fourth moment E[f_i^2 f_j^2] = S_ii S_jj + 2 S_ij^2; subtract (E f_i f_j)^2 = S_ij^2": (
            lambda S, N: (parts(S)[0] + 2 * parts(S)[1]) / N
        ),
        "the diagonal formula 2 S_ij^2 / N is right for i = j only; off the diagonal it is "
        "(S_ij^2 + S_ii S_jj) / N": lambda S, N: 2 * parts(S)[1] / N,
        "standard deviation instead of variance": lambda S, N: (sum(parts(S)) / N).sqrt(),
    }
    return verdict(
        "gram_entry_variance_theory", student_fn, stats.gram_entry_variance_theory, cases, mistakes
    )


def _eye(G: torch.Tensor) -> torch.Tensor:
    return torch.eye(G.shape[-1], dtype=G.dtype)


def check_shrink(student_fn: Callable[..., Any]) -> bool:
    """``shrink(G, lam)``: G_lam = (1 - lam) G + lam I."""
    gen = torch.Generator().manual_seed(106)
    cases = [(2.0 * spd(gen, 4), 0.3), (spd(gen, 6, torch.float32), 0.7), (3.0 * spd(gen, 3), 0.1)]
    mistakes = {
        "lambda and 1 - lambda swapped: G_lam = (1 - lam) G + lam I (lam = 0 keeps G)": (
            lambda G, lam: lam * G + (1 - lam) * _eye(G)
        ),
        "target not the identity: used (tr G / C) I, Ledoit-Wolf's scaled identity; this exercise "
        "shrinks toward I": lambda G, lam: stats.shrink(G, lam, target="scaled_identity"),
        "target not the identity: used diag(G); the target is I": (
            lambda G, lam: (1 - lam) * G + lam * torch.diag(G.diagonal())
        ),
        "target not the identity: added lam to every entry (a matrix of ones); the target is I": (
            lambda G, lam: (1 - lam) * G + lam * torch.ones_like(G)
        ),
        "target not the identity: (1 - lam) G alone shrinks toward 0; add lam I": (
            lambda G, lam: (1 - lam) * G
        ),
        "G needs the factor (1 - lam): G + lam I is not a convex combination": (
            lambda G, lam: G + lam * _eye(G)
        ),
    }
    return verdict("shrink", student_fn, stats.shrink, cases, mistakes)


def optimal_lambda_reference(G_trials: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """lam* = sum_t <G_t - S, G_t - T> / sum_t ||G_t - T||_F^2, the minimizer of the mean over trials of
    ||(1 - lam) G_t + lam T - S||_F^2 = ||(G_t - S) - lam (G_t - T)||_F^2 (1-D least squares)."""
    G, S, T = G_trials.double(), S.double(), T.double()
    return ((G - S) * (G - T)).sum() / (G - T).pow(2).sum()


def _optimal_lambda_cases() -> list[Args]:
    """(Gram matrices of trials, true S, target T): T = (tr S / C) I or I."""
    gen = torch.Generator().manual_seed(107)
    cases: list[Args] = []
    for C, N, n_trials, scaled in ((4, 6, 40, True), (3, 10, 30, False), (5, 8, 25, True)):
        S = spd(gen, C)
        root = torch.linalg.cholesky(S)
        F = root @ normal(gen, n_trials, C, N)
        T = (S.diagonal().mean() if scaled else 1.0) * torch.eye(C, dtype=torch.float64)
        cases.append((F @ F.transpose(-1, -2) / N, S, T))
    return cases


def _expected_lambda(G: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """a / (a + b), a = mean ||G_t - S||^2, b = ||T - S||^2: the expectation without the cross term."""
    a = (G - S).pow(2).sum((-1, -2)).mean()
    return a / (a + (T - S).pow(2).sum())


def check_optimal_lambda(student_fn: Callable[..., Any]) -> bool:
    """``optimal_lambda(G_trials, S, T)``: the lam minimizing mean_t ||(1 - lam) G_t + lam T - S||_F^2."""
    mistakes = {
        "lambda and 1 - lambda swapped: lam is the weight of the target T": (
            lambda G, S, T: 1 - optimal_lambda_reference(G, S, T)
        ),
        "used the identity as the target; shrink toward the given T": (
            lambda G, S, T: optimal_lambda_reference(G, S, torch.eye(S.shape[0], dtype=S.dtype))
        ),
        "used the expectation a / (a + b), a = mean ||G_t - S||^2, b = ||T - S||^2, which drops the "
        "cross term; minimize the mean over these trials exactly": _expected_lambda,
    }
    return verdict("optimal_lambda", student_fn, optimal_lambda_reference, _optimal_lambda_cases(), mistakes)
