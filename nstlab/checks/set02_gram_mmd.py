"""Checks of exercise set 02: the Gram distance is an MMD with the kernel k(a, b) = (a . b)^2.

||G_X - G_Y||_F^2 with G = F F^T / n equals the biased (V-statistic) estimate
MMD^2 = (1/n_x^2) sum k(x_i, x_j) + (1/n_y^2) sum k(y_i, y_j) - (2/(n_x n_y)) sum k(x_i, y_j)
(Li et al. 2017, "Demystifying Neural Style Transfer", IJCAI; :func:`nstlab.stats.mmd2`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import stats
from ._core import verdict
from ._random import normal


def check_poly2_kernel(student_fn: Callable[..., Any]) -> bool:
    """``poly2_kernel(A, B)``: the (n, m) matrix K_ij = (a_i . b_j)^2 of the columns of A (C, n), B (C, m)."""
    gen = torch.Generator().manual_seed(114)
    cases = [
        (normal(gen, 4, 6), normal(gen, 4, 3)),
        (normal(gen, 3, 5, dtype=torch.float32), normal(gen, 3, 7, dtype=torch.float32)),
        (normal(gen, 6, 4), 2.0 * normal(gen, 6, 9)),
    ]
    mistakes = {
        "not squared: that is the linear kernel a.b; k(a, b) = (a.b)^2": lambda A, B: A.T @ B,
        "squared the entries before the product; square the inner products: (A^T B)^2": (
            lambda A, B: (A**2).T @ B**2
        ),
        "A B^T compares channels (C x C); the kernel compares columns (positions): A^T B, shape (n, m)": [
            lambda A, B: (A @ B.T) ** 2,
            lambda A, B: A @ B.T,
        ],
        "transposed: row i belongs to column a_i of A, column j to b_j, shape (n, m)": (
            lambda A, B: (B.T @ A) ** 2
        ),
    }
    return verdict("poly2_kernel", student_fn, lambda A, B: (A.T @ B) ** 2, cases, mistakes)


def _kernel_matrices(X: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return (X.T @ X) ** 2, (Y.T @ Y) ** 2, (X.T @ Y) ** 2


def _unbiased(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    Kxx, Kyy, Kxy = _kernel_matrices(X, Y)
    n, m = X.shape[1], Y.shape[1]
    off = (Kxx.sum() - Kxx.diagonal().sum()) / (n * (n - 1)) + (Kyy.sum() - Kyy.diagonal().sum()) / (
        m * (m - 1)
    )
    return off - 2 * Kxy.mean()


def _minus_one(X: torch.Tensor, Y: torch.Tensor, cross: bool) -> torch.Tensor:
    Kxx, Kyy, Kxy = _kernel_matrices(X, Y)
    n, m = X.shape[1], Y.shape[1]
    xy = Kxy.sum() / ((n - 1) * (m - 1)) if cross else Kxy.mean()
    return Kxx.sum() / (n * (n - 1)) + Kyy.sum() / (m * (m - 1)) - 2 * xy


def _minus_one_squared(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    Kxx, Kyy, Kxy = _kernel_matrices(X, Y)
    n, m = X.shape[1], Y.shape[1]
    return Kxx.sum() / (n - 1) ** 2 + Kyy.sum() / (m - 1) ** 2 - 2 * Kxy.sum() / ((n - 1) * (m - 1))


def _no_two(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    Kxx, Kyy, Kxy = _kernel_matrices(X, Y)
    return Kxx.mean() + Kyy.mean() - Kxy.mean()


def check_mmd2_poly2(student_fn: Callable[..., Any]) -> bool:
    """``mmd2_poly2(X, Y)``: biased MMD^2 between the columns of X (C, n) and Y (C, m), k(a, b) = (a.b)^2."""
    gen = torch.Generator().manual_seed(103)
    cases = [
        (normal(gen, 4, 10), 1.5 * normal(gen, 4, 7) + 0.5),
        (normal(gen, 3, 6, dtype=torch.float32), 0.7 * normal(gen, 3, 6, dtype=torch.float32) - 0.3),
        (normal(gen, 5, 12), 1.3 * normal(gen, 5, 9)),
    ]
    mistakes = {
        "the unbiased estimator (diagonal terms k(x_i, x_i) left out); this exercise asks for the biased "
        "V-statistic, sums over all pairs divided by n^2, which equals the Gram distance": _unbiased,
        "linear kernel k(a, b) = a.b; the kernel of the identity is its square, (a.b)^2": (
            lambda X, Y: stats.mmd2(X, Y, kernel="linear")
        ),
        "1/(n-1) normalization: the biased estimator divides each double sum by n_x^2, n_y^2 and n_x n_y": [
            lambda X, Y: _minus_one(X, Y, False),
            lambda X, Y: _minus_one(X, Y, True),
            _minus_one_squared,
        ],
        "the cross term needs the factor 2: MMD^2 = E k(x,x') + E k(y,y') - 2 E k(x,y)": _no_two,
        "unnormalized Gram matrices: ||X X^T - Y Y^T||^2 ignores the sample sizes; the MMD averages "
        "over pairs (divide by n_x^2, n_y^2, n_x n_y)": lambda X, Y: (X @ X.T - Y @ Y.T).pow(2).sum(),
    }
    reference = lambda X, Y: stats.mmd2(X, Y, kernel="poly2")  # noqa: E731
    return verdict("mmd2_poly2", student_fn, reference, cases, mistakes, grad_of=(0,))
