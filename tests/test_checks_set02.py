"""Checks of set 02 (Gram distance = MMD with k(a, b) = (a.b)^2): each passes nstlab's reference and a
correct implementation written differently, and names every typical mistake (written here by hand)."""

from __future__ import annotations

import torch
from check_harness import check_tests

from nstlab import checks, stats


def mmd2_kernel_sums(X, Y):
    k = lambda A, B: (A.T @ B) ** 2  # noqa: E731
    return k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean()


def mmd2_unbiased(X, Y):
    """U-statistic: the diagonal k(x_i, x_i) left out of the within-sample sums, divided by n (n - 1)."""
    return sum(
        sgn
        * (((A.T @ Bm) ** 2).sum() - (((A.T @ Bm) ** 2).diagonal().sum() if same else 0))
        / (A.shape[1] * (Bm.shape[1] - same))
        for A, Bm, sgn, same in ((X, X, 1, 1), (Y, Y, 1, 1), (X, Y, -2, 0))
    )


CORRECT = [
    (checks.check_poly2_kernel, lambda A, B: torch.einsum("cn,cm->nm", A, B).square()),
    (checks.check_mmd2_poly2, lambda X, Y: stats.mmd2(X, Y, kernel="poly2")),
    (checks.check_mmd2_poly2, mmd2_kernel_sums),
]

MISTAKES = [
    ("kernel not squared", checks.check_poly2_kernel, lambda A, B: A.T @ B, "linear kernel"),
    (
        "kernel entries squared first",
        checks.check_poly2_kernel,
        lambda A, B: (A * A).T @ (B * B),
        "squared the entries",
    ),
    ("kernel transposed", checks.check_poly2_kernel, lambda A, B: (B.T @ A) ** 2, "transposed"),
    ("mmd unbiased", checks.check_mmd2_poly2, mmd2_unbiased, "unbiased estimator"),
    (
        "mmd linear kernel",
        checks.check_mmd2_poly2,
        lambda X, Y: (X.T @ X).mean() + (Y.T @ Y).mean() - 2 * (X.T @ Y).mean(),
        "linear kernel",
    ),
    (
        "mmd 1/(n-1)",
        checks.check_mmd2_poly2,
        lambda X, Y: (
            ((X.T @ X) ** 2).sum() / (X.shape[1] * (X.shape[1] - 1))
            + ((Y.T @ Y) ** 2).sum() / (Y.shape[1] * (Y.shape[1] - 1))
            - 2 * ((X.T @ Y) ** 2).mean()
        ),
        "1/(n-1) normalization",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)


def test_biased_estimate_is_the_gram_distance():
    """The identity the set is about, on the check's own kind of input: ||G_X - G_Y||_F^2 = MMD^2_poly2."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(4, 10, generator=gen, dtype=torch.float64)
    Y = 1.5 * torch.randn(4, 7, generator=gen, dtype=torch.float64) + 0.5
    gram_distance = (X @ X.T / 10 - Y @ Y.T / 7).pow(2).sum()
    assert torch.allclose(mmd2_kernel_sums(X, Y), gram_distance)
