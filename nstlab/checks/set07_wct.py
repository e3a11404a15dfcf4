"""Checks of exercise set 07: whitening and coloring (WCT).

ZCA whitening z = E diag(1/sqrt(lam + eps)) E^T (f - mu_c) with S_c = E diag(lam) E^T, coloring
out = S_s^{1/2} z + mu_s with the symmetric square root, WCT = coloring(whitening(content))
(Li et al. 2017, "Universal Style Transfer via Feature Transforms", NeurIPS). Population covariances,
float64 inside. The truncated variant keeps only the eigen-directions with lam > rank_tol * lam_max.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import transforms
from ._core import stop_on_singular, verdict
from ._random import correlated, normal, singular


def _moments(F: torch.Tensor, center: bool = True, ddof: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (C, 1) and covariance (C, C) of a (C, N) matrix in float64 (second moment if not center)."""
    F64 = F.to(torch.float64)
    mu = F64.mean(1, keepdim=True) if center else torch.zeros_like(F64[:, :1])
    D = F64 - mu
    return mu, D @ D.T / (F.shape[1] - ddof)


def _matrix_fn(S: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """E diag(f(lam)) E^T of a symmetric matrix (float64)."""
    lam, E = torch.linalg.eigh(S)
    return (E * f(lam)) @ E.T


def _whiten(F, eps, f=None, center=True, center_cov=True, ddof=0, pca=False):
    """A whitening variant: f(lam) replaces 1/sqrt(lam + eps); ``pca`` skips the rotation back by E."""
    mu, S = _moments(F, center_cov, ddof)
    lam, E = torch.linalg.eigh(S)
    w = (f or (lambda x: (x.clamp_min(0) + eps).rsqrt()))(lam)
    Wm = (E * w).T if pca else (E * w) @ E.T
    X = F.to(torch.float64) - (mu if center else 0)
    return (Wm @ X).to(F.dtype)


def _color(Z, style, root=None, center=True, ddof=0, add_mean=True):
    """A coloring variant: root(S_s) replaces the symmetric square root S_s^{1/2}."""
    mu, S = _moments(style, center, ddof)
    R = (root or (lambda S: _matrix_fn(S, lambda x: x.clamp_min(0).sqrt())))(S)
    out = R @ Z.to(torch.float64) + (mu if add_mean else 0)
    return out.to(Z.dtype)


_NO_REGULARIZATION = "no regularization: use 1 / sqrt(lam + eps) so that zero eigenvalues (N < C) stay finite"
_NOT_CENTERED = "not centering: subtract the content mean mu_c before whitening"
_NOT_CENTERED_COV = "not centering: the covariance is of the centered features, (F - mu)(F - mu)^T / N"
_SQRT_NOT_INVERSE = (
    "sqrt instead of inverse sqrt: whitening multiplies by S_c^{-1/2} = E diag(1/sqrt(lam + eps)) E^T"
)


def _whiten_mistakes() -> dict[str, Any]:
    return {
        _NOT_CENTERED: lambda F, eps: _whiten(F, eps, center=False),
        _NOT_CENTERED_COV: [
            lambda F, eps: _whiten(F, eps, center=False, center_cov=False),
            lambda F, eps: _whiten(F, eps, center_cov=False),
        ],
        _SQRT_NOT_INVERSE: lambda F, eps: _whiten(F, eps, lambda x: (x.clamp_min(0) + eps).sqrt()),
        "inverse instead of inverse square root: use 1 / sqrt(lam + eps)": (
            lambda F, eps: _whiten(F, eps, lambda x: 1 / (x.clamp_min(0) + eps))
        ),
        _NO_REGULARIZATION: lambda F, eps: _whiten(F, eps, lambda x: x.rsqrt()),
        "covariance divided by N - 1: use the population covariance (divide by N)": (
            lambda F, eps: _whiten(F, eps, ddof=1)
        ),
        "PCA whitening (no rotation back): ZCA whitening is E diag(1/sqrt(lam + eps)) E^T (F - mu)": (
            lambda F, eps: _whiten(F, eps, pca=True)
        ),
    }


def check_whiten(student_fn: Callable[..., Any]) -> bool:
    """``whiten(F, eps)`` of a (C, N) matrix: z = E diag(1/sqrt(lam + eps)) E^T (F - mu), float64 inside,
    returned in F's dtype; stays finite on a singular covariance (N < C)."""
    gen = torch.Generator().manual_seed(701)
    dead = (singular(gen, 12, 8), 1e-5)
    stop = stop_on_singular("whiten", student_fn, dead, _NO_REGULARIZATION)
    if stop is not None:
        return stop
    cases = [
        (correlated(gen, 3, 40), 1e-5),
        (correlated(gen, 6, 90, torch.float32), 1e-5),
        (0.03 * correlated(gen, 8, 50), 1e-5),
        dead,
    ]
    reference = lambda F, eps: transforms.whiten(F, eps, rank_tol=0)  # noqa: E731
    return verdict("whiten", student_fn, reference, cases, _whiten_mistakes(), rtol=1e-4, atol=1e-6)


def _color_mistakes() -> dict[str, Any]:
    return {
        "forgot to add the style mean back: out = S_s^{1/2} z + mu_s": (
            lambda Z, s: _color(Z, s, add_mean=False)
        ),
        "multiplied by S_s instead of its square root S_s^{1/2}": lambda Z, s: _color(Z, s, lambda S: S),
        "inverse square root instead of square root: coloring multiplies by S_s^{1/2}": (
            lambda Z, s: _color(Z, s, lambda S: _matrix_fn(S, torch.rsqrt))
        ),
        "not centering the style: its covariance is of (s - mu_s), not the raw second moment": [
            lambda Z, s: _color(Z, s, center=False),
            lambda Z, s: (_color(Z, s, center=False) + s.mean(1, keepdim=True)).to(Z.dtype),
        ],
        "Cholesky factor instead of the symmetric square root E diag(sqrt(lam)) E^T (both give covariance "
        "S_s, but WCT uses the symmetric one)": lambda Z, s: _color(Z, s, torch.linalg.cholesky),
        "covariance divided by N - 1: use the population covariance (divide by N)": (
            lambda Z, s: _color(Z, s, ddof=1)
        ),
    }


def check_color(student_fn: Callable[..., Any]) -> bool:
    """``color(Z, style)``: out = S_s^{1/2} z + mu_s with the symmetric square root (float64 inside)."""
    gen = torch.Generator().manual_seed(702)
    cases = [
        (normal(gen, 3, 40), correlated(gen, 3, 30)),
        (normal(gen, 6, 50, dtype=torch.float32), correlated(gen, 6, 70, torch.float32)),
        (normal(gen, 8, 60), 5 * correlated(gen, 8, 45)),
    ]
    return verdict("color", student_fn, transforms.coloring, cases, _color_mistakes())


def _variants(wrong: Any) -> list[Callable[..., Any]]:
    return wrong if isinstance(wrong, list) else [wrong]


def _wct_mistakes() -> dict[str, list[Callable[..., Any]]]:
    """A whitening mistake then the right coloring, or the right whitening then a coloring mistake."""
    whitened = lambda c, eps: transforms.whiten(c, eps, rank_tol=0)  # noqa: E731
    whiten_mistakes = {
        message: [
            lambda c, s, eps, w=w: transforms.coloring(w(c, eps), s, rank_tol=0) for w in _variants(wrong)
        ]
        for message, wrong in _whiten_mistakes().items()
    }
    color_mistakes = {
        message: [lambda c, s, eps, w=w: w(whitened(c, eps), s) for w in _variants(wrong)]
        for message, wrong in _color_mistakes().items()
    }
    return {**whiten_mistakes, **color_mistakes}


def check_wct(student_fn: Callable[..., Any]) -> bool:
    """``wct(content, style, eps)``: S_s^{1/2} S_c^{-1/2} (x - mu_c) + mu_s with eps regularization."""
    gen = torch.Generator().manual_seed(703)
    dead = (singular(gen, 10, 6), correlated(gen, 10, 40), 1e-5)
    stop = stop_on_singular("wct", student_fn, dead, _NO_REGULARIZATION)
    if stop is not None:
        return stop
    cases = [
        (correlated(gen, 3, 40), correlated(gen, 3, 25), 1e-5),
        (0.05 * correlated(gen, 6, 80, torch.float32), correlated(gen, 6, 50, torch.float32), 1e-5),
        (0.03 * correlated(gen, 5, 50), 4 * correlated(gen, 5, 60), 1e-5),
        dead,
    ]
    reference = lambda c, s, eps: transforms.wct(c, s, eps=eps, rank_tol=0)  # noqa: E731
    return verdict("wct", student_fn, reference, cases, _wct_mistakes())


def _spectrum_matrix(gen: torch.Generator, lam: torch.Tensor, N: int) -> torch.Tensor:
    """(C, N) features whose population covariance is exactly Q diag(lam) Q^T (Q random orthogonal)."""
    C = lam.shape[0]
    Z = normal(gen, C, N)
    mu, S = _moments(Z)
    Z = _matrix_fn(S, torch.rsqrt) @ (Z - mu)
    Q, _ = torch.linalg.qr(normal(gen, C, C))
    return (Q * lam.sqrt()) @ Z + normal(gen, C, 1)


def _whiten_kept(F: torch.Tensor, keep: Callable[[torch.Tensor], torch.Tensor], center: bool = True):
    """Whitening on the eigen-directions where ``keep(lam)`` holds, zero on the others, no eps."""
    mu, S = _moments(F)
    lam, E = torch.linalg.eigh(S)
    w = torch.where(keep(lam), lam.clamp_min(1e-300).rsqrt(), torch.zeros_like(lam))
    return ((E * w) @ E.T @ (F.to(torch.float64) - (mu if center else 0))).to(F.dtype)


_NO_TRUNCATION = "no truncation: drop the directions with lam <= rank_tol * lam_max (m = 0)"
_INSTEAD_OF_DIVIDING = "instead of dividing by their ~0 eigenvalues"


def check_whiten_pca(student_fn: Callable[..., Any]) -> bool:
    """``whiten_pca(F, rank_tol)``: z = E diag(m / sqrt(lam)) E^T (F - mu), m = [lam > rank_tol * lam_max]:
    whitening on the kept principal subspace only, no eps."""
    gen = torch.Generator().manual_seed(704)
    dead = (singular(gen, 12, 8), 1e-8)
    stop = stop_on_singular("whiten_pca", student_fn, dead, f"{_NO_TRUNCATION} {_INSTEAD_OF_DIVIDING}")
    if stop is not None:
        return stop
    spectrum = 100 * torch.logspace(0, -8, 10, dtype=torch.float64)
    cases = [
        (_spectrum_matrix(gen, spectrum, 200), 1e-4),
        (_spectrum_matrix(gen, spectrum[:7], 120).float(), 1e-3),
        (correlated(gen, 5, 40), 1e-6),
        dead,
    ]
    mistakes = {
        _NO_TRUNCATION: lambda F, tol: _whiten_kept(F, lambda lam: lam > 0),
        "absolute threshold: compare lam with rank_tol * lam_max, relative to the largest eigenvalue": (
            lambda F, tol: _whiten_kept(F, lambda lam: lam > tol)
        ),
        "kept the small eigenvalues and dropped the large ones: keep lam > rank_tol * lam_max": (
            lambda F, tol: _whiten_kept(F, lambda lam: lam <= tol * lam.max())
        ),
        _NOT_CENTERED: lambda F, tol: _whiten_kept(F, lambda lam: lam > tol * lam.max(), center=False),
    }
    reference = lambda F, tol: transforms.whiten(F, eps=0.0, rank_tol=tol)  # noqa: E731
    return verdict("whiten_pca", student_fn, reference, cases, mistakes)
