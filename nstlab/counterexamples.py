"""The counterexamples of the text's hierarchy of style losses: pairs of feature sets that one loss calls
equal and another tells apart.

L_S (per-channel mean and std) <= L_OT (1-D optimal transport per channel) is one chain; the Gram matrix
(MMD with the poly2 kernel) and the Gaussian W2 see second moments; only the exact and the sliced W2 (and
MMD with an rbf kernel) see the joint geometry. Each builder returns float64 matrices (C, n), seeded, and
its docstring says which losses are 0 on the pair and which are not; :func:`style_loss_values` evaluates
every loss of the hierarchy on a pair (chapter 07, exercise set 08).
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import stats
from .losses import exact_w2, gaussian_w2, mean_std_loss, ot1d, sliced_w2
from .validation import NonNegativeInt, PositiveInt, checked

__all__ = [
    "equal_moments_pair",
    "equal_covariance_pair",
    "equal_marginals_pair",
    "equal_marginals_and_covariance_pair",
    "equal_gram_pair",
    "style_loss_values",
]


def _standardize_channels(F: Tensor) -> Tensor:
    """Each row shifted and scaled to sample mean 0 and population std 1 exactly (float64)."""
    return (F - F.mean(-1, keepdim=True)) / F.std(-1, keepdim=True, correction=0)


def _whiten_exactly(F: Tensor) -> Tensor:
    """Points (C, n) mapped to sample mean 0 and population covariance I exactly (up to rounding)."""
    mu, S = stats.moments64(F[None])
    lam, E = torch.linalg.eigh(S[0])
    return (E * lam.rsqrt()) @ E.T @ (F - mu[0])


@checked
def equal_moments_pair(
    n: PositiveInt = 1024, channels: PositiveInt = 2, seed: NonNegativeInt = 0
) -> tuple[Tensor, Tensor]:
    """Two feature matrices (channels, n) whose channels have the same mean (0) and std (1) but different
    1-D shapes: Gaussian channels in X, bimodal channels (+-1 plus a little noise) in Y.

    The first level of the text's hierarchy: L_S (:func:`nstlab.losses.mean_std_loss` with eps = 0) is 0
    up to rounding, while L_OT (:func:`nstlab.losses.ot1d`) is clearly positive. float64, seeded.
    """
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(channels, n, generator=gen, dtype=torch.float64)
    signs = torch.randint(0, 2, (channels, n), generator=gen).to(torch.float64) * 2 - 1
    Y = signs + 0.1 * torch.randn(channels, n, generator=gen, dtype=torch.float64)
    return _standardize_channels(X), _standardize_channels(Y)


@checked
def equal_covariance_pair(n: int = 1024, seed: NonNegativeInt = 0) -> tuple[Tensor, Tensor]:
    """Two 2-D point clouds (2, n) with the same mean (0) and the same covariance and Gram matrix (I) but
    different geometry: a Gaussian blob X and a noisy ring Y, each whitened exactly.

    The second level: the Gram loss, MMD with the poly2 kernel, L_S and the Gaussian W2 are all 0 up to
    rounding, while the exact W2 (:func:`nstlab.losses.exact_w2`) and the sliced W2 are positive. float64,
    seeded.
    """
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(2, n, generator=gen, dtype=torch.float64)
    angle = 2 * torch.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    radius = 1 + 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    Y = torch.stack([radius * angle.cos(), radius * angle.sin()])
    return _whiten_exactly(X), _whiten_exactly(Y)


@checked
def equal_marginals_pair(n: int = 1024, seed: NonNegativeInt = 0) -> tuple[Tensor, Tensor]:
    """Two feature matrices (2, n) whose channels have exactly the same values (the same 1-D marginals)
    but different correlation: independent Gaussian channels in X; in Y the second channel's values are
    rearranged in the order of the first (comonotone, correlation near 1).

    The level between L_OT and the Gram loss: L_S and L_OT (:func:`nstlab.losses.ot1d`) are 0 (each
    channel of Y is a permutation of the same channel of X), while the Gram loss is clearly positive (its
    off-diagonal entry goes from about 0 to about 1). float64, seeded.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2 points, got {n}")
    gen = torch.Generator().manual_seed(seed)
    X = _standardize_channels(torch.randn(2, n, generator=gen, dtype=torch.float64))
    rank_of_first = X[0].argsort().argsort()
    Y = torch.stack([X[0], X[1].sort().values[rank_of_first]])
    return X, Y


@checked
def equal_marginals_and_covariance_pair(n: int = 1024, seed: NonNegativeInt = 0) -> tuple[Tensor, Tensor]:
    """Two 2-D point clouds (2, n) (n a multiple of 4) with exactly equal 1-D marginals AND equal mean,
    covariance and Gram matrix, but different geometry: a blob X and a cross Y on the two diagonals.

    From m = n/4 half-normal magnitudes u_i and a random permutation pi: X holds the four points
    (+-u_i, +-u_pi(i)), Y the four points (+-u_i, +-u_i). Both channels of both clouds hold the values
    {+-u_i} twice each (so L_S = L_OT = 0), and the four sign patterns cancel every cross product (so the
    off-diagonal Gram entry is 0 on both sides and the Gram loss, the Gaussian W2 and MMD with the poly2
    kernel are 0 up to rounding). Only losses that see the joint geometry, the exact and the sliced W2 (and
    MMD with an rbf kernel), are positive. float64, seeded.
    """
    if n < 4 or n % 4:
        raise ValueError(f"n must be a positive multiple of 4 (four sign patterns per magnitude), got {n}")
    gen = torch.Generator().manual_seed(seed)
    m = n // 4
    u = torch.randn(m, generator=gen, dtype=torch.float64).abs()
    v = u[torch.randperm(m, generator=gen)]
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)

    def cloud(first: Tensor, second: Tensor) -> Tensor:
        return torch.cat([torch.stack([a * first, b * second]) for a, b in signs], dim=1)

    scale = u.pow(2).mean().sqrt()  # unit variance per channel
    return cloud(u, v) / scale, cloud(u, u) / scale


@checked
def equal_gram_pair(n: int = 1024) -> tuple[Tensor, Tensor]:
    """Two one-channel feature matrices (1, n) with the same uncentred Gram matrix but different mean and
    std: X constant at 1, Y alternating +1, -1 (n even).

    G = (1/n) sum_i f_i^2 = 1 for both, so the Gram loss is exactly 0, while L_S = (1 - 0)^2 + (0 - 1)^2 = 2
    (:func:`nstlab.losses.mean_std_loss` with eps = 0): the uncentred Gram loss does not bound L_S. Only
    the means together with the centred covariance do. float64.
    """
    if n < 2 or n % 2:
        raise ValueError(f"n must be a positive even number (Y alternates +1 and -1), got {n}")
    X = torch.ones(1, n, dtype=torch.float64)
    Y = torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(n // 2)[None]
    return X, Y


@checked
def style_loss_values(
    X: Tensor, Y: Tensor, n_projections: PositiveInt = 256, seed: NonNegativeInt = 0
) -> dict[str, float]:
    """Every style loss of the hierarchy on one pair of feature matrices, as plain floats.

    Keys: ``mean_std`` (L_S, eps = 0), ``ot1d`` (L_OT), ``gram`` (||gram(X) - gram(Y)||_F^2, normalize "n"),
    ``mmd_rbf`` (median bandwidth), ``gaussian_w2``, ``sliced_w2`` (``n_projections``, ``seed``) and
    ``exact_w2`` (all positions: keep n in the low thousands). Takes one pair: (C, N) matrices or
    (1, C, H, W) maps.
    """
    for name, F in (("X", X), ("Y", Y)):
        if F.ndim == 4 and F.shape[0] != 1:
            raise ValueError(f"{name} holds a batch of {F.shape[0]}; pass one pair, e.g. {name}[:1]")
    return {
        "mean_std": float(mean_std_loss(X, Y, eps=0.0)),
        "ot1d": float(ot1d(X, Y)),
        "gram": float((stats.gram(X) - stats.gram(Y.to(X))).pow(2).sum()),
        "mmd_rbf": float(stats.mmd2(X, Y, "rbf")),
        "gaussian_w2": float(gaussian_w2(X, Y)),
        "sliced_w2": float(sliced_w2(X, Y, n_projections, seed)),
        "exact_w2": float(exact_w2(X, Y)),
    }
