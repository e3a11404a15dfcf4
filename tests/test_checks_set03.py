"""Checks of set 03 (variance of Gram entries, shrinkage, the best shrinkage weight): each passes nstlab's
reference and a correct implementation written differently, names every typical mistake (written here by
hand), and the references agree with a simulation and with a grid search."""

from __future__ import annotations

import math

import numpy as np
import torch
from check_harness import check_tests

from nstlab import checks, stats


def gram_entry_variance_numpy(F_trials):
    F = F_trials.double().numpy()
    G = np.einsum("tcn,tdn->tcd", F, F) / F.shape[-1]
    return torch.from_numpy(G.var(axis=0, ddof=1))


def isserlis(S, N):
    d = torch.diagonal(S)
    return (S * S + torch.outer(d, d)) / N


def shrink_lerp(G, lam):
    return torch.lerp(G, torch.eye(G.shape[0], dtype=G.dtype), lam)


def optimal_lambda_lstsq(G_trials, S, T):
    """Closed form written as a 1-D least-squares solve with numpy."""
    a = (G_trials - T).double().reshape(-1, 1).numpy()
    b = (G_trials - S).double().reshape(-1).numpy()
    return float(np.linalg.lstsq(a, b, rcond=None)[0][0])


def _grams(F):
    return F @ F.transpose(-1, -2) / F.shape[-1]


def eye(G):
    return torch.eye(G.shape[-1], dtype=G.dtype)


CORRECT = [
    (checks.check_gram_entry_variance, gram_entry_variance_numpy),
    (checks.check_gram_entry_variance_theory, stats.gram_entry_variance_theory),
    (checks.check_gram_entry_variance_theory, isserlis),
    (checks.check_shrink, stats.shrink),
    (checks.check_shrink, shrink_lerp),
    (checks.check_optimal_lambda, checks.optimal_lambda_reference),
    (checks.check_optimal_lambda, optimal_lambda_lstsq),
]

MISTAKES = [
    ("variance std", checks.check_gram_entry_variance, lambda F: _grams(F).std(dim=0), "standard deviation"),
    (
        "variance no 1/N",
        checks.check_gram_entry_variance,
        lambda F: (F @ F.transpose(1, 2)).var(dim=0),
        "missing 1/N",
    ),
    (
        "variance /T",
        checks.check_gram_entry_variance,
        lambda F: _grams(F).var(dim=0, unbiased=False),
        "T - 1",
    ),
    (
        "theory no 1/N",
        checks.check_gram_entry_variance_theory,
        lambda S, N: isserlis(S, N) * N,
        "missing 1/N",
    ),
    (
        "theory no S_ij^2",
        checks.check_gram_entry_variance_theory,
        lambda S, N: torch.outer(S.diagonal(), S.diagonal()) / N,
        "dropped the S_ij^2",
    ),
    ("shrink swapped", checks.check_shrink, lambda G, lam: lam * G + (1 - lam) * eye(G), "swapped"),
    (
        "shrink scaled identity target",
        checks.check_shrink,
        lambda G, lam: (1 - lam) * G + lam * torch.trace(G) / G.shape[0] * eye(G),
        "target not the identity",
    ),
    (
        "shrink diag target",
        checks.check_shrink,
        lambda G, lam: (1 - lam) * G + lam * torch.diag(torch.diagonal(G)),
        "target not the identity",
    ),
    (
        "optimal lambda swapped",
        checks.check_optimal_lambda,
        lambda G, S, T: 1 - optimal_lambda_lstsq(G, S, T),
        "swapped",
    ),
    (
        "optimal lambda identity target",
        checks.check_optimal_lambda,
        lambda G, S, T: optimal_lambda_lstsq(G, S, eye(S)),
        "identity as the target",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)


def test_optimal_lambda_reference_is_the_minimum_of_the_mse_curve():
    """A fine grid of the mean squared error (stats.shrink) has its minimum at the closed-form lambda."""
    gen = torch.Generator().manual_seed(3)
    S = torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64))
    F = S.sqrt() @ torch.randn(200, 4, 6, generator=gen, dtype=torch.float64)
    G = F @ F.transpose(-1, -2) / 6
    T = torch.eye(4, dtype=torch.float64) * S.diagonal().mean()
    lams = torch.linspace(0, 1, 2001, dtype=torch.float64)
    mse = torch.stack([(stats.shrink(G, float(lam), T) - S).pow(2).sum((-1, -2)).mean() for lam in lams])
    best = float(lams[mse.argmin()])
    assert abs(float(checks.optimal_lambda_reference(G, S, T)) - best) < 1e-3
    assert 0.05 < best < 0.95


def test_isserlis_reference_matches_a_large_simulation():
    """The theory check's reference is right: Monte Carlo variance of Gram entries agrees to ~10%."""
    S = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    sim = stats.gram_entry_variance(2, [16], n_trials=4000, seed=1, cov=S)[0]
    assert torch.allclose(sim, isserlis(S, 16), rtol=0.1)
    assert math.isclose(float(isserlis(S, 16)[0, 1]), (0.64 + 2.0) / 16)
