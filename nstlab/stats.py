"""Statistics of feature matrices: Gram matrices and the statistics built on them.

Notation of the text: a layer's activations F in R^{C x N}, N = H*W positions, column f_i the
C-dimensional feature vector at position i. Every function accepts a (C, N) matrix (unbatched result) or
a (B, C, H, W) map (batched result) and keeps the input's dtype and device. Covariances and
eigendecompositions are computed in float64 internally and cast back.

Contents: Gram matrices (full and block-diagonal) and their memory; MMD with kernels; covariance,
shrinkage and Ledoit-Wolf; Monte Carlo helpers for the 1/N law of Gram estimates; per-channel moments and
histogram entropy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from ._features import (
    as_matrices,
    as_pair,
    check_choice,
    check_eps,
    check_finite,
    check_fraction,
    check_number,
    check_tensor,
    unbatch,
)
from .validation import Fraction, NonNegativeInt, PositiveInt, checked

__all__ = [
    "gram",
    "block_diag_gram",
    "block_diag_to_dense",
    "gram_memory_bytes",
    "block_diag_error",
    "moments64",
    "covariance",
    "sym_eig",
    "sqrtm_psd",
    "kernel_mean",
    "subsample_positions",
    "median_bandwidth",
    "mmd2",
    "shrink",
    "ledoit_wolf",
    "gram_entry_variance_theory",
    "gram_entry_variance",
    "position_sampler",
    "resampled_gram_variance",
    "ShrinkageCurve",
    "shrinkage_mse",
    "mean_std",
    "shannon_entropy",
    "entropy",
    "gaussian_entropy",
]

GRAM_NORMALIZATIONS = ("n", "cn", "none")
MMD_KERNELS = ("poly2", "linear", "rbf")
SHRINK_TARGETS = ("identity", "scaled_identity")
ENTROPY_BIN_RULES = ("fd", "scott")

_KERNEL_CHUNK = 2048  # columns of X per block when forming kernel matrices (bounds memory)
_MEDIAN_SUBSAMPLE = 1000  # points used by the median heuristic


# ----------------------------------------------------------------------------------------------------
# Gram matrices
# ----------------------------------------------------------------------------------------------------


@checked
def gram(F: Tensor, normalize: str = "n") -> Tensor:
    """Gram matrix G = F F^T / Z of a feature matrix (C, N) or a feature map (B, C, H, W).

    Z = N for ``"n"`` (G = (1/N) sum_i f_i f_i^T, the uncentred second moment, as in the MMD view of
    Li et al. 2017, "Demystifying Neural Style Transfer"), Z = C*N for ``"cn"`` (the normalized form of
    the text) and Z = 1 for ``"none"`` (Gatys et al. 2016, "Image Style Transfer Using CNNs", eq. 3).
    G_ij is the inner product of channels i and j over positions: how strongly they fire together.

    Returns (C, C) for a matrix input and (B, C, C) for a map input, in the input's dtype and device.
    """
    M, batched = as_matrices(F)
    C, N = M.shape[-2:]
    if normalize == "n":
        Z = N
    elif normalize == "cn":
        Z = C * N
    elif normalize == "none":
        Z = 1
    else:
        raise ValueError(f"unknown normalize={normalize!r}; choose one of {GRAM_NORMALIZATIONS}")
    return unbatch(M @ M.transpose(-1, -2) / Z, batched)


def _gram_divisor(C: int, N: int, normalize: str) -> int:
    check_choice(normalize, GRAM_NORMALIZATIONS, "normalize")
    return {"n": N, "cn": C * N, "none": 1}[normalize]


@checked
def block_diag_gram(F: Tensor, block_size: PositiveInt, normalize: str = "n") -> Tensor:
    """Diagonal blocks of the Gram matrix: G^(k) = F_k F_k^T / Z for channel blocks k of size B.

    The block-diagonal approximation of the text (memory section): channels are cut into consecutive
    blocks of ``block_size`` = B channels and only the correlations inside a block are kept, which stores
    ceil(C/B) * B^2 numbers instead of C^2. Z is N, C*N (C the full channel count, so the blocks equal the
    diagonal blocks of ``gram(F, normalize)``) or 1.

    Returns a (ceil(C/B), B, B) tensor ((B', ceil(C/B), B, B) for a (B', C, H, W) map). When B does not
    divide C the last block is smaller; it is stored zero-padded to B x B (its padded rows and columns are
    exactly zero), and :func:`block_diag_to_dense` with ``C`` crops it again. The full C x C matrix is
    never formed.
    """
    M, batched = as_matrices(F)
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    nb, C, N = M.shape
    Z = _gram_divisor(C, N, normalize)
    n_blocks = -(-C // block_size)
    pad = n_blocks * block_size - C
    if pad:
        M = torch.cat([M, M.new_zeros(nb, pad, N)], dim=1)
    blocks = M.reshape(nb, n_blocks, block_size, N)
    return unbatch(blocks @ blocks.transpose(-1, -2) / Z, batched)


@checked
def block_diag_to_dense(blocks: Tensor, C: PositiveInt | None = None) -> Tensor:
    """Rebuild the (C, C) block-diagonal matrix diag(G^(1), ..., G^(K)) from (K, B, B) blocks.

    Off-diagonal blocks are zero. ``C`` (default K*B) crops the zero padding of a last smaller block.
    A (B', K, B, B) stack gives (B', C, C).
    """
    if blocks.ndim not in (3, 4) or blocks.shape[-1] != blocks.shape[-2]:
        raise ValueError(
            f"blocks must be (K, B, B) or (B', K, B, B) as made by block_diag_gram, got {tuple(blocks.shape)}"
        )
    batched = blocks.ndim == 4
    stack = blocks if batched else blocks[None]
    nb, K, B, _ = stack.shape
    full = K * B
    C = full if C is None else C
    if not full - B < C <= full:
        raise ValueError(f"C = {C} does not fit {K} blocks of size {B}: need {full - B} < C <= {full}")
    dense = stack.new_zeros(nb, full, full)
    for k in range(K):
        dense[:, k * B : (k + 1) * B, k * B : (k + 1) * B] = stack[:, k]
    return unbatch(dense[:, :C, :C], batched)


@checked
def gram_memory_bytes(
    C: int, block_size: PositiveInt | None = None, dtype: torch.dtype = torch.float32
) -> int:
    """Bytes to store one Gram matrix: C^2 * itemsize, or ceil(C/B) * B^2 * itemsize in block form.

    The block count is the representation of :func:`block_diag_gram` (a last smaller block is stored
    padded to B x B). Memory is O(C^2) for the full matrix and O(C * B) for the blocks.
    """
    if C < 1:
        raise ValueError(f"C must be a positive integer, got {C!r}")
    itemsize = torch.empty((), dtype=dtype).element_size()
    if block_size is None:
        return C * C * itemsize
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    return -(-C // block_size) * block_size * block_size * itemsize


@checked
def block_diag_error(F: Tensor, block_sizes: Sequence[PositiveInt], normalize: str = "n") -> Tensor:
    """Relative Frobenius error ||G - G_blockdiag(B)||_F / ||G||_F for each block size B.

    Measures how much correlation between channels of different blocks the approximation drops: 0 for
    B >= C, the off-diagonal share of ||G||_F for B = 1. Returns (len(block_sizes),) in float64 (or
    (B', len(block_sizes)) for a map).
    """
    if not block_sizes:
        raise ValueError("block_sizes is empty; give at least one block size, e.g. [16, 64]")
    M, batched = as_matrices(F)
    G = (M.to(torch.float64) @ M.to(torch.float64).transpose(-1, -2)) / _gram_divisor(*M.shape[1:], normalize)
    C = G.shape[-1]
    total = torch.linalg.matrix_norm(G)
    errors = []
    for bs in block_sizes:
        if not isinstance(bs, int) or bs < 1:
            raise ValueError(f"block sizes must be positive integers, got {bs!r}")
        idx = torch.arange(C, device=G.device) // bs
        same_block = idx[:, None] == idx[None, :]
        errors.append(torch.linalg.matrix_norm(G * ~same_block) / total.clamp_min(torch.finfo(G.dtype).tiny))
    return unbatch(torch.stack(errors, dim=-1), batched)


# ----------------------------------------------------------------------------------------------------
# Covariances and symmetric matrix functions (float64 inside)
# ----------------------------------------------------------------------------------------------------


@checked
def moments64(M: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (B, C, 1) and population covariance (B, C, C) = (1/N) sum_i (f_i - mu)(f_i - mu)^T in float64.

    Takes a (B, C, N) stack (see :func:`nstlab._features.as_matrices`); differentiable.
    """
    if M.ndim != 3 or 0 in M.shape:
        raise ValueError(
            f"M must be a non-empty (B, C, N) stack, got shape {tuple(M.shape)}; use F.flatten(2) on a "
            "(B, C, H, W) feature map or F[None] on a (C, N) matrix"
        )
    M64 = M.to(torch.float64)
    mu = M64.mean(dim=-1, keepdim=True)
    Mc = M64 - mu
    return mu, Mc @ Mc.transpose(-1, -2) / M.shape[-1]


@checked
def covariance(F: Tensor) -> Tensor:
    """Population covariance S = (1/N) sum_i (f_i - mu)(f_i - mu)^T over positions, (C, C) or (B, C, C).

    Divides by N (not N - 1), the convention of every transform and loss here, so that "the output
    covariance equals the style covariance" is an identity, not an approximation. Needs N >= 2.
    """
    M, batched = as_matrices(F, min_positions=2)
    return unbatch(moments64(M)[1].to(F.dtype), batched)


@checked
def sym_eig(S: Tensor, method: str = "eigh") -> tuple[Tensor, Tensor]:
    """Eigenvalues (descending) and eigenvectors (columns) of symmetric matrices S = E diag(lam) E^T.

    ``method="eigh"`` uses ``torch.linalg.eigh`` (the symmetric solver); ``"svd"`` uses
    ``torch.linalg.svd`` as WCT implementations often do (Li et al. 2017, "Universal Style Transfer via
    Feature Transforms", NeurIPS), which equals eigh for positive semi-definite S up to eigenvector signs.
    Works on (..., C, C); use float64 for accuracy.
    """
    check_choice(method, ("eigh", "svd"), "method")
    _check_square(S)
    if method == "eigh":
        lam, E = torch.linalg.eigh(S)
        return lam.flip(-1), E.flip(-1)
    U, s, _ = torch.linalg.svd(S)
    return s, U


def _check_square(S: Tensor, name: str = "S") -> None:
    if S.ndim < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] == 0:
        raise ValueError(f"{name} must be (..., C, C) square matrices, C >= 1; got shape {tuple(S.shape)}")


@checked
def sqrtm_psd(S: Tensor) -> Tensor:
    """Principal square root S^{1/2} = E diag(sqrt(max(lam, 0))) E^T of symmetric PSD matrices (..., C, C).

    Negative eigenvalues (rounding of a singular covariance) are clamped to 0. Computed in float64 via
    ``torch.linalg.eigh`` and returned in the input's dtype; differentiable where eigenvalues are distinct.
    """
    _check_square(S)
    lam, E = torch.linalg.eigh(S.to(torch.float64))
    if bool((lam.amin(-1) < -1e-3 * lam.abs().amax(-1).clamp_min(1e-300)).any()):
        raise ValueError(
            f"S is not positive semi-definite (an eigenvalue {float(lam.min()):.3g} is clearly negative); "
            "pass a covariance or Gram matrix"
        )
    root = (E * lam.clamp_min(0).sqrt().unsqueeze(-2)) @ E.transpose(-1, -2)
    return root.to(S.dtype)


# ----------------------------------------------------------------------------------------------------
# MMD
# ----------------------------------------------------------------------------------------------------


def _pairwise_sqdist(A: Tensor, B: Tensor) -> Tensor:
    """||a_i - b_j||^2 for columns of A (b, C, n) and B (b, C, m) -> (b, n, m), clamped at 0."""
    a2 = A.pow(2).sum(-2).unsqueeze(-1)
    b2 = B.pow(2).sum(-2).unsqueeze(-2)
    return (a2 + b2 - 2 * A.transpose(-1, -2) @ B).clamp_min(0)


@checked
def kernel_mean(A: Tensor, B: Tensor, kernel: str, sigma: Tensor | None) -> Tensor:
    """(1/(n m)) sum_ij k(a_i, b_j) between the columns of A (b, C, n) and B (b, C, m), per batch element:
    the three terms of :func:`mmd2`. ``kernel`` ``"poly2"`` (k = (a.b)^2) or ``"rbf"`` (k =
    exp(-||a - b||^2 / (2 sigma^2)), sigma (b,)). Computed in column chunks of A to bound memory."""
    if A.ndim != 3 or B.ndim != 3 or A.shape[:2] != B.shape[:2]:
        raise ValueError(
            f"A and B must be (b, C, n) and (b, C, m) stacks (one b and C), got {tuple(A.shape)} and "
            f"{tuple(B.shape)}"
        )
    total = A.new_zeros(A.shape[0])
    for start in range(0, A.shape[-1], _KERNEL_CHUNK):
        a = A[..., start : start + _KERNEL_CHUNK]
        if kernel == "poly2":
            K = (a.transpose(-1, -2) @ B).pow(2)
        else:  # rbf
            K = torch.exp(-_pairwise_sqdist(a, B) / (2 * sigma.view(-1, 1, 1) ** 2))
        total = total + K.sum(dim=(-1, -2))
    return total / (A.shape[-1] * B.shape[-1])


@checked
def subsample_positions(M: Tensor, max_positions: PositiveInt, generator: torch.Generator) -> Tensor:
    """Keep at most ``max_positions`` random columns (positions) of a (B, C, N) stack, without replacement.

    The permutation is drawn on the CPU from ``generator`` (reproducible on any device).
    """
    N = M.shape[-1]
    if N <= max_positions:
        return M
    idx = torch.randperm(N, generator=generator)[:max_positions].to(M.device)
    return M[..., idx]


@checked
def median_bandwidth(M: Tensor) -> Tensor:
    """Median heuristic sigma = median_{i<j} ||z_i - z_j|| over the columns of a (B, C, N) stack -> (B,).

    Gretton et al. 2012, "A Kernel Two-Sample Test", section 8. Uses at most 1000 columns chosen with a
    fixed seed (0) and no gradient. A zero median (all points equal) gives sigma = 1.
    """
    check_tensor(M, "M")
    if M.ndim != 3 or not M.is_floating_point() or 0 in M.shape[:2]:
        raise ValueError(
            f"M must be a non-empty floating-point (B, C, N) stack of feature columns, got shape "
            f"{tuple(M.shape)} and dtype {M.dtype}; use F.flatten(2) on a (B, C, H, W) map"
        )
    check_finite(M, "M")
    Z = subsample_positions(M.detach(), _MEDIAN_SUBSAMPLE, torch.Generator().manual_seed(0))
    n = Z.shape[-1]
    iu = torch.triu_indices(n, n, offset=1, device=Z.device)
    d = _pairwise_sqdist(Z, Z)[:, iu[0], iu[1]].sqrt()
    sigma = d.median(dim=-1).values if d.shape[-1] else Z.new_ones(Z.shape[0])
    return torch.where(sigma > 0, sigma, torch.ones_like(sigma))


@checked
def mmd2(X: Tensor, Y: Tensor, kernel: str = "poly2", sigma: float | Tensor | None = None) -> Tensor:
    """Biased (V-statistic) squared maximum mean discrepancy between the columns of X and Y.

    MMD^2 = (1/n_x^2) sum_ij k(x_i, x_j) + (1/n_y^2) sum_ij k(y_i, y_j) - (2/(n_x n_y)) sum_ij k(x_i, y_j)
    (Gretton et al. 2012, "A Kernel Two-Sample Test", eq. 5). Kernels:

    - ``"poly2"``: k(a, b) = (a^T b)^2. Li et al. 2017 ("Demystifying Neural Style Transfer") show
      MMD^2 = ||X X^T / n_x - Y Y^T / n_y||_F^2 = ||gram(X) - gram(Y)||_F^2: Gram matching is MMD matching.
    - ``"linear"``: k(a, b) = a^T b, for which MMD^2 = ||mu_x - mu_y||^2 (computed in that form, O(C N)).
    - ``"rbf"``: k(a, b) = exp(-||a - b||^2 / (2 sigma^2)); ``sigma`` defaults to the median heuristic
      on the pooled columns of X and Y (:func:`median_bandwidth`, computed without gradient).

    X is (C, n_x) and Y (C, n_y) (n_x != n_y allowed), or (B, C, H, W) maps (result (B,)). Kernel matrices
    are formed in blocks of 2048 columns: cost O(n_x n_y C) for poly2 and rbf. Differentiable in X and Y.
    """
    check_choice(kernel, MMD_KERNELS, "kernel")
    if sigma is not None and kernel != "rbf":
        raise ValueError(
            f"sigma is the bandwidth of the 'rbf' kernel; it has no meaning for kernel={kernel!r}"
        )
    MX, MY, batched = as_pair(X, Y)
    if kernel == "linear":
        return unbatch((MX.mean(-1) - MY.mean(-1)).pow(2).sum(-1), batched)
    s = None
    if kernel == "rbf":
        if sigma is None:
            s = median_bandwidth(torch.cat([MX, MY], dim=-1))
        else:
            s = torch.as_tensor(sigma, dtype=MX.dtype, device=MX.device).expand(MX.shape[0])
            if not bool((s > 0).all()):
                raise ValueError(f"sigma must be > 0, got {sigma!r}")
    value = (
        kernel_mean(MX, MX, kernel, s) + kernel_mean(MY, MY, kernel, s) - 2 * kernel_mean(MX, MY, kernel, s)
    )
    return unbatch(value, batched)


# ----------------------------------------------------------------------------------------------------
# Shrinkage
# ----------------------------------------------------------------------------------------------------


@checked
def shrink(G: Tensor, lam: Fraction, target: Tensor | str | None = None) -> Tensor:
    """Shrinkage estimate G_lam = (1 - lam) G + lam T of a Gram or covariance matrix (C, C) or (B, C, C).

    The text's regularized Gram (Ledoit & Wolf 2004, "A well-conditioned estimator for large-dimensional
    covariance matrices"): shrinking toward a simple target trades a little bias for much less variance
    when N is small relative to C. T is the identity I for ``target=None`` or ``"identity"``,
    (tr(G)/C) I for ``"scaled_identity"`` (the Ledoit-Wolf target, same average eigenvalue as G), or any
    tensor broadcastable to G. ``lam`` must lie in [0, 1].
    """
    check_tensor(G, "G")
    if G.ndim not in (2, 3) or G.shape[-1] != G.shape[-2]:
        raise ValueError(f"G must be a square (C, C) or (B, C, C) matrix, got shape {tuple(G.shape)}")
    C = G.shape[-1]
    eye = torch.eye(C, dtype=G.dtype, device=G.device)
    if target is None or (isinstance(target, str) and target == "identity"):
        T = eye
    elif isinstance(target, str):
        check_choice(target, SHRINK_TARGETS, "target")
        T = G.diagonal(dim1=-2, dim2=-1).mean(-1)[..., None, None] * eye
    else:
        T = target.to(dtype=G.dtype, device=G.device)
        if T.shape[-2:] != (C, C):
            raise ValueError(f"target must be a ({C}, {C}) matrix like G, got shape {tuple(T.shape)}")
    return (1 - lam) * G + lam * T


@checked
def ledoit_wolf(F: Tensor, assume_centered: bool = False) -> Tensor:
    """Ledoit-Wolf shrinkage intensity rho in [0, 1] toward the scaled identity m I, from data F (C, N).

    Ledoit & Wolf 2004, "A well-conditioned estimator for large-dimensional covariance matrices"
    (Lemmas 3.2-3.4, Theorem 3.2), with positions as observations x_k (k = 1..N, centred unless
    ``assume_centered``), S = (1/N) sum_k x_k x_k^T and <A, B> = tr(A B^T) / C:

        m = <S, I>,   d^2 = ||S - m I||^2,   b_bar^2 = (1/N^2) sum_k ||x_k x_k^T - S||^2,
        b^2 = min(b_bar^2, d^2),   rho = b^2 / d^2   (0 when d^2 = 0),

    so the estimate is ``shrink(S, rho, "scaled_identity")``. Uses sum_k ||x_k x_k^T - S||_F^2 =
    sum_k ||x_k||^4 - N ||S||_F^2. Needs N >= 2. Returns a 0-d tensor (or (B,) for a map) in F's dtype.
    """
    M, batched = as_matrices(F, "F", min_positions=2)
    X = M.to(torch.float64)
    if not assume_centered:
        X = X - X.mean(-1, keepdim=True)
    C, N = X.shape[-2:]
    S = X @ X.transpose(-1, -2) / N
    m = S.diagonal(dim1=-2, dim2=-1).mean(-1)
    eye = torch.eye(C, dtype=X.dtype, device=X.device)
    d2 = (S - m[..., None, None] * eye).pow(2).sum((-1, -2)) / C
    b_bar2 = (X.pow(2).sum(-2).pow(2).sum(-1) / N - S.pow(2).sum((-1, -2))) / (N * C)
    b2 = torch.minimum(b_bar2, d2)
    rho = torch.where(d2 > 0, b2 / d2.clamp_min(torch.finfo(X.dtype).tiny), torch.zeros_like(d2))
    return unbatch(rho.to(F.dtype), batched)


def _gaussian_samples(cov: Tensor, n_trials: int, N: int, gen: torch.Generator) -> Tensor:
    """n_trials feature matrices (n_trials, C, N) with columns ~ N(0, cov), drawn on the CPU in float64."""
    root = sqrtm_psd(cov.to(torch.float64).cpu())
    Z = torch.randn(n_trials, cov.shape[0], N, generator=gen, dtype=torch.float64)
    return root @ Z


@checked
def gram_entry_variance_theory(cov: Tensor, N: PositiveInt) -> Tensor:
    """Closed form Var(G_ab) = (S_aa S_bb + S_ab^2) / N for G = (1/N) F F^T, f_i ~ N(0, S) i.i.d.

    From Isserlis' theorem: E[f_a^2 f_b^2] = S_aa S_bb + 2 S_ab^2, so Var(f_a f_b) = S_aa S_bb + S_ab^2,
    and G_ab averages N independent copies. (C, C) float64.
    """
    S = cov.to(torch.float64)
    d = S.diagonal()
    return (d[:, None] * d[None, :] + S.pow(2)) / N


@checked
def gram_entry_variance(
    C: PositiveInt,
    Ns: Sequence[PositiveInt],
    n_trials: PositiveInt = 200,
    seed: NonNegativeInt = 0,
    cov: Tensor | None = None,
    sampler: Callable[[int, torch.Generator], Tensor] | None = None,
) -> Tensor:
    """Monte Carlo variance of each Gram entry G_ab = (1/N) sum_i f_ia f_ib versus the sample size N.

    Draws ``n_trials`` feature matrices with N columns f_i ~ N(0, cov) (cov = I_C by default) for each N
    in ``Ns`` and returns the unbiased sample variance over trials of every entry, shape (len(Ns), C, C),
    float64. The text's 1/N law: it follows :func:`gram_entry_variance_theory` (S_aa S_bb + S_ab^2) / N.
    ``sampler(N, generator) -> (C, N)`` replaces the Gaussian draws (e.g. :func:`position_sampler` of a
    real feature map, whose law is :func:`resampled_gram_variance`); ``cov`` is then ignored.
    Seeded (``torch.Generator().manual_seed(seed)``), CPU.
    """
    if not Ns:
        raise ValueError("Ns is empty; give the sample sizes to compare, e.g. [16, 64, 256]")
    if n_trials < 2:
        raise ValueError(f"n_trials must be >= 2 to estimate a variance, got {n_trials}")
    cov = torch.eye(C, dtype=torch.float64) if cov is None else cov
    if cov.shape != (C, C):
        raise ValueError(f"cov must be ({C}, {C}), got {tuple(cov.shape)}")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for N in Ns:
        if sampler is None:
            F = _gaussian_samples(cov, n_trials, N, gen)
        else:
            F = torch.stack([sampler(N, gen).to(torch.float64).cpu() for _ in range(n_trials)])
            if F.shape[1:] != (C, N):
                raise ValueError(f"sampler(N, gen) must return a ({C}, {N}) matrix, got {tuple(F.shape[1:])}")
        G = F @ F.transpose(-1, -2) / N
        out.append(G.var(dim=0))
    return torch.stack(out)


@checked
def position_sampler(F: Tensor) -> Callable[[int, torch.Generator], Tensor]:
    """A sampler for :func:`gram_entry_variance` and :func:`shrinkage_mse` that draws N positions of a
    real feature map uniformly with replacement: ``sampler(N, generator) -> (C, N)`` float64 CPU.

    The columns of F (C, N_full) (or a (1, C, H, W) map) become the population, so the "true" second
    moment is exactly ``gram(F)``, and a draw of N positions is the feature map of a small image whose
    positions are independent. Gram estimates from it obey :func:`resampled_gram_variance`.
    """
    M, batched = as_matrices(F, "F")
    if batched and M.shape[0] != 1:
        raise ValueError(f"position_sampler takes one feature map, got a batch of {M.shape[0]}")
    population = M[0].detach().to(torch.float64).cpu()
    n_full = population.shape[-1]

    def sampler(N: int, gen: torch.Generator) -> Tensor:
        if N < 1:
            raise ValueError(f"N must be a positive number of positions, got {N}")
        return population[:, torch.randint(0, n_full, (N,), generator=gen)]

    return sampler


@checked
def resampled_gram_variance(F: Tensor, N: int) -> Tensor:
    """Exact Var(G_ab) of G = (1/N) sum_k f_k f_k^T when the N columns f_k are drawn uniformly with
    replacement from the positions of F (see :func:`position_sampler`):

        Var(G_ab) = ( (1/N_F) sum_i (F_ai F_bi)^2 - gram(F)_ab^2 ) / N,

    the population variance of the product f_a f_b over the N_F positions, divided by N (G_ab is a mean of
    N i.i.d. copies). The distribution-free form of the 1/N law (the Gaussian one is
    :func:`gram_entry_variance_theory`). (C, C) float64.
    """
    M, batched = as_matrices(F, "F")
    if batched and M.shape[0] != 1:
        raise ValueError(f"resampled_gram_variance takes one feature map, got a batch of {M.shape[0]}")
    if N < 1:
        raise ValueError(f"N must be a positive number of positions, got {N}")
    X = M[0].to(torch.float64)
    second = X.pow(2) @ X.pow(2).T / X.shape[-1]
    return (second - (X @ X.T / X.shape[-1]).pow(2)) / N


class ShrinkageCurve(NamedTuple):
    """Result of :func:`shrinkage_mse`."""

    lams: Tensor  # (L,) the shrinkage intensities tried
    mse: Tensor  # (L,) E ||shrink(G, lam, target) - S||_F^2 estimated over trials
    best_lam: float  # the lam with the smallest MSE on the grid
    ledoit_wolf_lam: float  # mean Ledoit-Wolf intensity over the same trials (target: scaled identity)


@checked
def shrinkage_mse(
    cov: Tensor,
    N: PositiveInt,
    lams: Sequence[float] | Tensor,
    n_trials: PositiveInt = 200,
    seed: NonNegativeInt = 0,
    target: Tensor | str | None = None,
    sampler: Callable[[int, torch.Generator], Tensor] | None = None,
) -> ShrinkageCurve:
    """Mean squared error E ||(1 - lam) G + lam T - S||_F^2 of the shrunk Gram estimate versus lam.

    G = (1/N) F F^T from N positions; S = ``cov`` is the true second moment. Features are drawn as
    f_i ~ N(0, cov) unless ``sampler(N, generator) -> (C, N)`` is given (it must have second moment cov).
    For a fixed target T the curve is the parabola (1 - lam)^2 E||G - S||^2 + lam^2 ||T - S||^2 (the
    cross term vanishes since E G = S). Also returns the grid minimizer and the average Ledoit-Wolf
    intensity (:func:`ledoit_wolf` with ``assume_centered=True``) for comparison; they estimate the same
    optimum for ``target="scaled_identity"``. float64, seeded, CPU.
    """
    if len(lams) == 0:
        raise ValueError("lams is empty; give a grid of intensities, e.g. torch.linspace(0, 1, 21)")
    S = cov.to(torch.float64).cpu()
    lam_t = torch.as_tensor(lams, dtype=torch.float64)
    for lam in lam_t.tolist():
        check_fraction(lam, "lam")
    gen = torch.Generator().manual_seed(seed)
    if sampler is None:
        F = _gaussian_samples(S, n_trials, N, gen)
    else:
        F = torch.stack([sampler(N, gen).to(torch.float64).cpu() for _ in range(n_trials)])
    G = F @ F.transpose(-1, -2) / N  # (n_trials, C, C), gram(F, "n") of every trial
    # shrink(G, lam, T) - S = (1 - lam) D + lam E with D = G - S and E = T - S (T may depend on G, as the
    # scaled identity does), so the squared error of each trial is exactly the quadratic
    # (1 - lam)^2 ||D||^2 + 2 lam (1 - lam) <D, E> + lam^2 ||E||^2: three passes over the trials, any grid.
    D = G - S
    E = shrink(G, 1.0, target) - S
    dd, de, ee = (D * D).sum((-1, -2)).mean(), (D * E).sum((-1, -2)).mean(), (E * E).sum((-1, -2)).mean()
    mse = (1 - lam_t) ** 2 * dd + 2 * lam_t * (1 - lam_t) * de + lam_t**2 * ee
    lw = float(ledoit_wolf(F[..., None], assume_centered=True).mean())
    return ShrinkageCurve(lam_t, mse, float(lam_t[mse.argmin()]), lw)


# ----------------------------------------------------------------------------------------------------
# Per-channel moments and entropy
# ----------------------------------------------------------------------------------------------------


@checked
def mean_std(F: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-channel mean mu_c = (1/N) sum_i F_ci and std sigma_c = sqrt((1/N) sum_i (F_ci - mu_c)^2 + eps).

    The statistics AdaIN matches (Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with
    Adaptive Instance Normalization", eq. 5-6). The variance is the population one (divides by N), and
    eps (>= 0) keeps a later division by sigma finite on constant channels. Needs N >= 2.
    Returns (mu, sigma), each (C,) for a (C, N) matrix or (B, C) for a (B, C, H, W) map.
    """
    check_eps(eps, allow_zero=True)
    M, batched = as_matrices(F, min_positions=2)
    mu = M.mean(-1)
    var = M.var(-1, correction=0)
    return unbatch(mu, batched), unbatch((var + eps).sqrt(), batched)


def _bin_width(x: Tensor, rule: str) -> Tensor:
    """Bin width per sorted row of x (R, n): Freedman-Diaconis 2 IQR n^{-1/3} or Scott 3.49 std n^{-1/3}.

    Quartiles by linear interpolation between order statistics (numpy's default), from the sorted rows
    (``torch.quantile`` refuses inputs over 2^24 elements).
    """
    n = x.shape[-1]
    scott = 3.49 * x.std(-1, correction=0) * n ** (-1 / 3)
    if rule == "scott":
        return scott

    def quantile(p: float) -> Tensor:
        pos = p * (n - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, n - 1)
        return x[:, lo] + (pos - lo) * (x[:, hi] - x[:, lo])

    fd = 2 * (quantile(0.75) - quantile(0.25)) * n ** (-1 / 3)
    return torch.where(fd > 0, fd, scott)  # discrete-looking data with IQR = 0 falls back to Scott


def _entropy_rows(x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """Sorted float64 rows (R, n) of x ((n,), (C, N) or (B, C, H, W)) and the shape of one value per row."""
    check_tensor(x, "x")
    if x.ndim == 1:
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got {x.dtype}; call .float() first")
        if x.shape[0] < 2:
            raise ValueError("entropy needs at least 2 samples")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains NaN or inf values; entropy needs finite samples")
        rows, shape_out = x.reshape(1, -1), ()
    else:
        M, batched = as_matrices(x, "x", min_positions=2)
        rows, shape_out = M.reshape(-1, M.shape[-1]), (tuple(M.shape[:2]) if batched else tuple(M.shape[1:2]))
    return rows.detach().to(torch.float64).sort(-1).values, shape_out


def _fixed_widths(bin_width: float | Tensor, shape_out: tuple[int, ...], like: Tensor) -> Tensor:
    """One positive, finite grid width per row: a number, or a tensor of the result's shape."""
    w = torch.as_tensor(bin_width, dtype=torch.float64, device=like.device)
    if w.ndim > 0 and tuple(w.shape) != shape_out:
        raise ValueError(
            f"bin_width must be a number or a tensor of shape {shape_out} (one width per channel), "
            f"got shape {tuple(w.shape)}"
        )
    if not bool(torch.isfinite(w).all() & (w > 0).all()):
        raise ValueError(f"bin_width must be finite and > 0, got {bin_width!r}")
    return w.expand(shape_out).reshape(-1)


def _fitted_bins(r: Tensor, bins: int | str | None) -> tuple[Tensor, Tensor]:
    """Bin indices of the sorted rows r over [min, max] and the width per row (count from ``bins``)."""
    n = r.shape[-1]
    lo, span = r[:, 0], r[:, -1] - r[:, 0]
    if isinstance(bins, int):
        if bins < 1:
            raise ValueError(f"bins must be a positive integer or one of {ENTROPY_BIN_RULES}, got {bins}")
        count = torch.full_like(span, float(bins))
    else:
        rule = "fd" if bins is None else bins
        check_choice(rule, ENTROPY_BIN_RULES, "bins")
        h = _bin_width(r, rule)
        count = torch.where(h > 0, (span / h.clamp_min(torch.finfo(h.dtype).tiny)).ceil(), torch.ones_like(h))
        count = count.clamp(1, n)
    width = span / count
    idx = ((r - lo[:, None]) / width.clamp_min(torch.finfo(r.dtype).tiny)[:, None]).floor()
    return torch.minimum(idx, count[:, None] - 1).clamp_min(0), width


def _plogp(idx: Tensor) -> Tensor:
    """-sum_k p_k log p_k per row, from bin indices that do not decrease along each row (R, n)."""
    R, n = idx.shape
    new_bin = torch.ones_like(idx, dtype=torch.bool)
    new_bin[:, 1:] = idx[:, 1:] != idx[:, :-1]
    starts = torch.nonzero(new_bin.flatten()).flatten()
    counts = torch.diff(starts, append=torch.tensor([R * n], device=idx.device))
    p = counts.to(torch.float64) / n
    return torch.zeros(R, dtype=torch.float64, device=idx.device).index_add_(0, starts // n, -p * p.log())


def _histogram_entropy(
    x: Tensor, bins: int | str | None, bin_width: float | Tensor | None
) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    """(Shannon entropy of the binned rows, bin width per row, result shape) for both kinds of bins."""
    r, shape_out = _entropy_rows(x)
    if bin_width is None:
        idx, width = _fitted_bins(r, bins)
    elif bins is not None:
        raise ValueError("pass bins (bins over each channel's range) or bin_width (a fixed grid), not both")
    else:
        width = _fixed_widths(bin_width, shape_out, r)
        idx = (r / width[:, None]).floor()
    return _plogp(idx), width, shape_out


@checked
def shannon_entropy(
    x: Tensor, bins: int | str | None = None, bin_width: float | Tensor | None = None
) -> Tensor:
    """Shannon entropy H = -sum_k p_k log p_k (nats) of the values of x binned into a histogram.

    p_k is the fraction of samples in bin k. Two kinds of bins: ``bins`` (an int, or the rule "fd" or
    "scott", as in :func:`entropy`) spans each channel's own range [min, max], so the bins move and stretch
    with the data and H is invariant under x -> a x + b with a > 0; ``bin_width`` is a fixed grid
    [k w, (k + 1) w) of width w (a number, or one width per channel), the same for any data, so H moves
    by about log|a| (Cover & Thomas, "Elements of Information Theory", Thm 8.3.1: H = h(X) - log w + o(1)
    for small w). One value per channel as in :func:`entropy`.
    """
    H, _, shape_out = _histogram_entropy(x, bins, bin_width)
    return H.reshape(shape_out).to(x.dtype)


@checked
def entropy(x: Tensor, bins: int | str | None = None, bin_width: float | Tensor | None = None) -> Tensor:
    """Histogram estimate of differential entropy in nats: h = -sum_k p_k log p_k + log(w).

    p_k is the fraction of samples in bin k and w the bin width (Cover & Thomas, "Elements of Information
    Theory", 8.3: the entropy of a quantized variable is about h(X) - log w).

    - ``bins`` (default): bins span [min(x), max(x)] exactly, their count an int or a rule on the width,
      ``"fd"`` (default, Freedman-Diaconis h = 2 IQR n^{-1/3}) or ``"scott"`` (h = 3.49 sigma n^{-1/3});
      the count is ceil((max - min) / h) and the width (max - min) / count. Range and h scale with the
      data, so this estimator is affine-equivariant **by construction**: H(a x + b) = H(x) + log|a| to
      rounding, whatever the distribution (what :func:`nstlab.transforms.adain_entropy_change` uses).
    - ``bin_width``: a fixed grid [k w, (k + 1) w), w a number or one width per channel (a tensor of the
      result's shape). It does not follow the data, so H(a x + b) - H(x) is a measurement, close to
      log|a| only where the theorem holds (a density, small w, enough samples per bin).

    ``x`` of shape (n,) gives a 0-d result; a (C, N) matrix or (B, C, H, W) map gives one value per channel
    ((C,) or (B, C)). A constant channel has entropy -inf with ``bins`` and log w with ``bin_width`` (one
    occupied bin). Not differentiable (counts); float64 inside.
    """
    H, width, shape_out = _histogram_entropy(x, bins, bin_width)
    return (H + width.log()).reshape(shape_out).to(x.dtype)  # width 0 (constant row, fitted bins) gives -inf


@checked
def gaussian_entropy(std: Tensor | float) -> Tensor:
    """Differential entropy of N(mu, std^2) in nats: h = (1/2) log(2 pi e std^2) (Cover & Thomas, 8.1)."""
    s = std if isinstance(std, Tensor) else torch.tensor(check_number(std, "std"))
    if s.is_complex() or s.dtype == torch.bool:
        raise TypeError(f"std must be a real tensor or number, got dtype {s.dtype}")
    if bool((s < 0).any()) or not bool(torch.isfinite(s).all()):
        raise ValueError(f"std must be finite and >= 0, got {std!r}")
    return 0.5 * torch.log(2 * math.pi * math.e * s.pow(2))
