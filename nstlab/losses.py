"""Loss functions of style transfer: content, Gram style and total variation.

Each takes feature maps (B, C, H, W) or matrices (C, N) of the generated image x and a target.

Beyond the Gram matrix (the text's hierarchy of style losses): per-channel mean/std (L_S),
1-D optimal transport per channel (L_OT), sliced, Gaussian (Bures) and exact Wasserstein-2, MMD and
the block-diagonal Gram. The two-sample losses ``f(X, Y)`` take X (C, n_x) and Y (C, n_y) (the numbers of
positions may differ) or maps, and return a 0-d tensor, or (B,) for maps, in X's dtype. All are
registered in ``STYLE_LOSSES`` for :func:`nstlab.optimize.stylize`; :mod:`nstlab.counterexamples` builds
the pairs of feature sets that show what each level of the hierarchy misses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import stats
from ._features import as_matrices, as_pair, check_choice, check_eps, check_finite, unbatch
from .validation import NonNegativeInt, PositiveInt, TensorSpec, check_fields, check_tensor, checked

__all__ = [
    "content_loss",
    "gram_loss",
    "total_variation",
    "correlation",
    "gradients",
    "correlation_floor",
    "StyleLoss",
    "make_generator",
    "get_style_loss",
    "mean_std_loss",
    "ot1d",
    "random_directions",
    "sliced_w2",
    "gaussian_w2",
    "exact_w2",
    "block_gram_loss",
]


def _check_float(x: Tensor, name: str) -> None:
    """A float tensor with at least one value (finiteness is checked once per loss, on its result)."""
    check_tensor(x, name, TensorSpec(finite=False))
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); a loss needs at least one value")


def _finite_or_raise(value: Tensor, *named: tuple[Tensor, str]) -> Tensor:
    """``value`` if finite; else raise naming the input that holds NaN or inf. One test of the result per
    call instead of a pass over every input (the optimization loop calls these losses at every step)."""
    if not bool(torch.isfinite(value.detach()).all()):
        for x, name in named:
            check_finite(x, name)
    return value


@checked
def content_loss(Fx: Tensor, Fc: Tensor, reduction: str = "mean") -> Tensor:
    """Content loss L_content = 1/2 ||F(x) - F(c)||_2^2 (Gatys et al. 2016, eq. 1).

    ``reduction="sum"`` is the formula of the text; ``"mean"`` divides the squared error by the number
    of entries (times 1/2), which makes layers of different sizes comparable (the default in
    :func:`nstlab.optimize.stylize`).
    """
    _check_float(Fx, "Fx")
    _check_float(Fc, "Fc")
    if Fx.shape != Fc.shape:
        raise ValueError(
            f"content loss needs equal shapes, got {tuple(Fx.shape)} and {tuple(Fc.shape)}; "
            "the generated image must have the content image's size"
        )
    check_choice(reduction, ("mean", "sum"), "reduction")
    sq = (Fx - Fc.to(Fx)).pow(2)
    value = 0.5 * (sq.sum() if reduction == "sum" else sq.mean())
    return _finite_or_raise(value, (Fx, "Fx"), (Fc, "Fc"))


def _check_gram_target(G: Tensor, Gs: Tensor) -> None:
    """Gs must be (C, C) or (B or 1, C, C) for the generated Gram matrices G (B, C, C) or (C, C)."""
    _check_float(Gs, "Gs")
    bad_batch = Gs.ndim == 3 and G.ndim == 3 and Gs.shape[0] not in (1, G.shape[0])
    if Gs.ndim not in (2, 3) or Gs.shape[-2:] != G.shape[-2:] or bad_batch:
        raise ValueError(
            f"channel count mismatch: Fx has C = {G.shape[-1]} (Gram {tuple(G.shape)}), the style Gram is "
            f"{tuple(Gs.shape)}; compare features taken from the same layer"
        )


@checked
def gram_loss(Fx: Tensor, Gs: Tensor, normalize: str = "n") -> Tensor:
    """Gram style loss ||G(x) - G(s)||_F^2 of one layer (Gatys et al. 2016, eq. 4 without weights).

    ``Gs`` is the style's precomputed Gram matrix (C, C) (or (B, C, C)), made with the same
    ``normalize``. Summed over the batch.
    """
    G = stats.gram(Fx, normalize)  # validates Fx
    _check_gram_target(G, Gs)
    return (G - Gs.to(G)).pow(2).sum()


def _compare_gram(Fx: Tensor, Gs: Tensor) -> Tensor:
    """The "gram" style loss as stylize's loop calls it, every step: ``gram_loss(Fx, Gs)`` for a feature map
    (B, C, H, W), with G = F F^T / N written out and finiteness tested on the value, not by a pass over Fx
    (``stats.gram`` validates its input in full). Anything else goes through ``gram_loss``."""
    usual = isinstance(Fx, Tensor) and Fx.ndim == 4 and Fx.is_floating_point() and Fx.numel() > 0
    C = Fx.shape[1] if usual else 0
    if not usual or not isinstance(Gs, Tensor) or Gs.shape[-2:] != (C, C) or Gs.shape[:-2] not in ((), (1,)):
        return gram_loss(Fx, Gs)
    if Fx.shape[0] == 1:  # one image: a 2-D product, whose gradient autograd can accumulate in place
        M = Fx.reshape(C, -1)
        G, Gs = M @ M.T / M.shape[-1], Gs.reshape(C, C)
    else:
        M = Fx.flatten(2)
        G = M @ M.transpose(-1, -2) / M.shape[-1]
    return _finite_or_raise((G - Gs.to(G)).pow(2).sum(), (Fx, "Fx"))


@checked
def total_variation(img: Tensor) -> Tensor:
    """Anisotropic squared total variation sum_ij (x_{i+1,j} - x_ij)^2 + (x_{i,j+1} - x_ij)^2, per pixel.

    A smoothness prior (Mahendran & Vedaldi 2015) that suppresses high-frequency noise in optimized
    images. Averaged over pixels and channels so its weight does not depend on the image size.
    """
    _check_float(img, "img")
    if img.ndim != 4 or min(img.shape[-2:]) < 2:
        raise ValueError(
            f"total_variation needs an image batch (B, C, H, W) with H, W >= 2, got shape {tuple(img.shape)}"
        )
    dh = (img[..., 1:, :] - img[..., :-1, :]).pow(2).mean()
    dw = (img[..., :, 1:] - img[..., :, :-1]).pow(2).mean()
    return dh + dw


@checked
def correlation(a: Tensor, b: Tensor) -> Tensor:
    """Pearson correlation between two images (B, C, H, W) over all their values, one per sample (B,):
    rho = sum (a - mean a)(b - mean b) / (||a - mean a|| ||b - mean b||). 0 for a constant image."""
    _check_float(a, "a")
    _check_float(b, "b")
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(
            f"correlation needs two images (B, C, H, W) of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    a, b = a.flatten(1), b.to(a).flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    # clamped before the square root: a flat image gives 0 with a finite gradient (a norm's is 0/0 at 0)
    norms2 = (a.pow(2).sum(1) * b.pow(2).sum(1)).clamp_min(torch.finfo(a.dtype).tiny)
    return (a * b).sum(1) / norms2.sqrt()


@checked
def gradients(img: Tensor) -> Tensor:
    """Forward differences of an image (B, C, H, W) down and across, (B, 2C, H-1, W-1): where its edges are
    and which side is brighter."""
    _check_float(img, "img")
    if img.ndim != 4 or min(img.shape[-2:]) < 2:
        raise ValueError(f"gradients needs an image (B, C, H, W) with H, W >= 2, got {tuple(img.shape)}")
    down = img[..., 1:, :-1] - img[..., :-1, :-1]
    across = img[..., :-1, 1:] - img[..., :-1, :-1]
    return torch.cat([down, across], dim=1)


@checked
def correlation_floor(a: Tensor, b: Tensor, floor: float) -> Tensor:
    """Hinge penalty sum_b max(0, floor - rho_b)^2 on the correlations rho_b = :func:`correlation` (a, b).

    Zero while the two images (or their gradients) stay correlated at least ``floor``; it grows once they
    drift apart. ``optimize.Objective`` puts two of these on the luminance (Rec. 601) of the result and the
    content: its light and dark layout, and its edges (:func:`gradients`). The content loss on VGG features
    is nearly blind to both: a rainbow style can invert the content's luminance (rho < 0) while matching its
    deep features through colour edges, and a noise style can bury its edges (measured in
    benchmarks/README.md, "Defaults that keep the content").
    """
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not -1.0 <= floor <= 1.0:
        raise ValueError(f"floor must be a correlation in [-1, 1], got {floor!r}")
    return (floor - correlation(a, b)).clamp_min(0).pow(2).sum()


@dataclass(frozen=True)
class StyleLoss:
    """A style loss as :func:`nstlab.optimize.stylize` uses it.

    ``prepare(Fs)`` turns the style's feature map (1, C, H, W) into a target once (a Gram matrix, the
    sorted channels, ...); ``compare(Fx, target)`` is the differentiable loss of the generated image's
    feature map (1, C, H, W) against it. ``stylize`` divides each layer's loss by
    ``compare(zeros_like(Fs), target)``, the loss of an all-zero feature map, so that layers and
    backbones with very different activation scales get comparable weights.

    A ``stochastic`` loss (random directions or positions) takes the randomness as a third argument,
    ``compare(Fx, target, generator)``; the caller makes it per call (``make_generator(seed, step)``),
    so targets hold no random state: a call is reproducible and copies of an objective agree.

    The contract every registered loss keeps (``tests/test_losses.py`` checks each entry of
    :data:`STYLE_LOSSES` against it, so a new one is tested by being registered):

    - the loss of an all-zero feature map is a finite number > 0 (``stylize`` divides by it);
    - the style compared with its own target gives about 0 (below 1e-6 of the all-zero loss);
    - ``Fx`` may have a different number of positions than the style (another image size);
    - the value is a scalar with a finite, non-zero gradient with respect to ``Fx``;
    - float32 inputs give a float32 loss within 1e-3 (relative) of float64;
    - the same ``(seed, step)`` gives the same value, stochastic or not.
    """

    name: str
    prepare: Callable[[Tensor], Any]
    compare: Callable[..., Tensor]
    stochastic: bool = False

    def __post_init__(self) -> None:
        check_fields(self)

    def __call__(self, Fx: Tensor, target: Any, generator: torch.Generator | None = None) -> Tensor:
        """``compare(Fx, target)``, passing ``generator`` (default: ``make_generator(STYLE_SEED, 0)``) to a
        stochastic loss."""
        if not self.stochastic:
            return self.compare(Fx, target)
        return self.compare(Fx, target, generator if generator is not None else make_generator(STYLE_SEED, 0))


STYLE_SEED = 0  # default seed of the stochastic style losses' per-call generators


@checked
def make_generator(seed: NonNegativeInt, step: int) -> torch.Generator:
    """A CPU generator that depends on (seed, step) alone (numpy's ``SeedSequence`` mixes the pair).

    Stochastic style losses draw from it: new directions or positions at every step, the same ones for
    the same (seed, step), whoever calls (a copied objective, a repeated evaluation, another device).
    """
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 0 for v in (seed, step)):
        raise ValueError(f"seed and step must be integers >= 0, got seed={seed!r}, step={step!r}")
    state = np.random.SeedSequence([int(seed), int(step)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


STYLE_LOSSES: dict[str, StyleLoss] = {
    "gram": StyleLoss("gram", lambda Fs: stats.gram(Fs), _compare_gram),
}


@checked
def get_style_loss(style_loss: str | StyleLoss) -> StyleLoss:
    """Look up a style loss by name (see ``STYLE_LOSSES``) or pass a :class:`StyleLoss` through."""
    if isinstance(style_loss, StyleLoss):
        return style_loss
    if style_loss not in STYLE_LOSSES:
        raise ValueError(f"unknown style loss {style_loss!r}; choose one of {sorted(STYLE_LOSSES)}")
    return STYLE_LOSSES[style_loss]


# ----------------------------------------------------------------------------------------------------
# The hierarchy of style losses
# ----------------------------------------------------------------------------------------------------


@checked
def mean_std_loss(X: Tensor, Y: Tensor, eps: float = 1e-5) -> Tensor:
    """L_S = sum_c (mu_c(X) - mu_c(Y))^2 + (sigma_c(X) - sigma_c(Y))^2, per-channel moments over positions.

    The statistics AdaIN matches (Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with
    Adaptive Instance Normalization", eq. 13, here with squared norms). It is also the sum over channels
    of W2^2 between the 1-D Gaussians N(mu_c, sigma_c^2). sigma = sqrt(population variance + eps) as in
    :func:`nstlab.stats.mean_std` (eps >= 0; eps > 0 keeps the gradient finite on a constant channel).
    Needs N >= 2 positions on both sides.
    """
    check_eps(eps, allow_zero=True)
    MX, MY, batched = as_pair(X, Y, min_positions=2)
    dmu = MX.mean(-1) - MY.mean(-1)
    dsd = (MX.var(-1, correction=0) + eps).sqrt() - (MY.var(-1, correction=0) + eps).sqrt()
    return unbatch((dmu.pow(2) + dsd.pow(2)).sum(-1), batched)


@functools.lru_cache(maxsize=64)
def _quantile_pairs(nx: int, ny: int) -> tuple[Tensor, Tensor, Tensor]:
    """Pieces of int_0^1 (Qx(t) - Qy(t))^2 dt for step quantile functions of nx and ny uniform atoms.

    The breakpoints are {i/nx} U {j/ny}; on each piece (t_{k-1}, t_k] the quantile indices are constant:
    ix = floor(t_{k-1} nx), iy = floor(t_{k-1} ny). Exact integer arithmetic on the common scale nx*ny.
    Returns (ix, iy, widths), at most nx + ny - 1 pieces (nx pieces of width 1/nx when nx = ny).
    """
    t = torch.unique(torch.cat([torch.arange(1, nx + 1) * ny, torch.arange(1, ny + 1) * nx]))
    t_prev = torch.cat([t.new_zeros(1), t[:-1]])
    return t_prev // ny, t_prev // nx, (t - t_prev).to(torch.float64) / (nx * ny)


def _w2_sorted(Xs: Tensor, Ys: Tensor) -> Tensor:
    """Sum over rows of the 1-D W2^2 between sorted samples (B, R, nx) and (B, R, ny) -> (B,)."""
    nx, ny = Xs.shape[-1], Ys.shape[-1]
    if nx == ny:
        return (Xs - Ys).pow(2).mean(-1).sum(-1)
    ix, iy, w = (t.to(Xs.device) for t in _quantile_pairs(nx, ny))
    return ((Xs[..., ix] - Ys[..., iy]).pow(2) * w.to(Xs.dtype)).sum(-1).sum(-1)


@checked
def ot1d(X: Tensor, Y: Tensor) -> Tensor:
    """L_OT = sum_c W2^2(X_c, Y_c): 1-D optimal transport between the distributions of each channel.

    For empirical measures with uniform weights W2^2 = int_0^1 (Qx(t) - Qy(t))^2 dt with Q the quantile
    functions (Peyre & Cuturi 2019, "Computational Optimal Transport", Remark 2.30): sort both samples
    and pair them in order; with n_x != n_y the step quantile functions are integrated exactly over the
    merged breakpoints {i/n_x} U {j/n_y} (the same value as POT's ``ot.wasserstein_1d(x, y, p=2)``).
    Matches the whole marginal of every channel, not only its mean and std (used as a style loss by
    Kolkin et al. 2019 and Heitz et al. 2021). Differentiable through the sort; O(N log N).
    """
    MX, MY, batched = as_pair(X, Y)
    return unbatch(_w2_sorted(MX.sort(-1).values, MY.sort(-1).values), batched)


@checked
def random_directions(C: PositiveInt, n: PositiveInt, generator: torch.Generator | None = None) -> Tensor:
    """n random unit vectors in R^C (rows, (n, C) float64 CPU), uniform on the sphere (normalized Gaussians).

    ``generator=None`` uses torch's global CPU generator (so ``torch.manual_seed`` fixes it).
    """
    theta = torch.randn(n, C, generator=generator, dtype=torch.float64)
    return theta / theta.norm(dim=-1, keepdim=True)


def _sliced(MX: Tensor, MY: Tensor, theta: Tensor) -> Tensor:
    theta = theta.to(dtype=MX.dtype, device=MX.device)
    Xs = (theta @ MX).sort(-1).values
    Ys = (theta @ MY).sort(-1).values
    return _w2_sorted(Xs, Ys) / theta.shape[0]


@checked
def sliced_w2(
    X: Tensor, Y: Tensor, n_projections: PositiveInt = 64, seed: NonNegativeInt | None = None
) -> Tensor:
    """Sliced Wasserstein SW2^2 = E_theta W2^2(theta^T X, theta^T Y), estimated with random unit theta.

    Rabin et al. 2011, "Wasserstein Barycenter and its Application to Texture Mixing"; Bonneel et al. 2015;
    as a style loss Heitz et al. 2021, "A Sliced Wasserstein Loss for Neural Texture Synthesis". The mean of
    :func:`ot1d` over ``n_projections`` directions drawn from ``torch.Generator().manual_seed(seed)`` (the
    global generator when seed is None) on the CPU, so a seed gives the same directions on any device.
    SW2^2 <= W2^2 / C. POT's ``ot.sliced_wasserstein_distance(..., p=2)`` returns sqrt of this value.
    """
    if n_projections < 1:
        raise ValueError(f"n_projections must be >= 1, got {n_projections}")
    MX, MY, batched = as_pair(X, Y)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    return unbatch(_sliced(MX, MY, random_directions(MX.shape[-2], n_projections, gen)), batched)


def _bures_cross(Sx: Tensor, root_y: Tensor) -> Tensor:
    """tr((Sy^{1/2} Sx Sy^{1/2})^{1/2}) from the eigenvalues only (stable gradient even with ties)."""
    M = root_y @ Sx @ root_y
    lam = torch.linalg.eigvalsh((M + M.transpose(-1, -2)) / 2)
    floor = lam.shape[-1] * torch.finfo(lam.dtype).eps * lam[..., -1:].abs().clamp_min(1e-300)
    safe = torch.where(lam > floor, lam, floor)
    return torch.where(lam > floor, safe.sqrt(), torch.zeros_like(lam)).sum(-1)


def _gaussian_w2_target(MY: Tensor) -> dict[str, Tensor]:
    mu, S = stats.moments64(MY)
    return {"mu": mu, "root": stats.sqrtm_psd(S), "trace": S.diagonal(dim1=-2, dim2=-1).sum(-1)}


def _gaussian_w2(MX: Tensor, target: dict[str, Tensor]) -> Tensor:
    mu, S = stats.moments64(MX)
    value = (
        (mu - target["mu"]).pow(2).sum((-1, -2))
        + S.diagonal(dim1=-2, dim2=-1).sum(-1)
        + target["trace"]
        - 2 * _bures_cross(S, target["root"])
    )
    return value.clamp_min(0).to(MX.dtype)


@checked
def gaussian_w2(X: Tensor, Y: Tensor) -> Tensor:
    """W2^2 between the Gaussians N(mu_x, S_x) and N(mu_y, S_y) fitted to X and Y (Bures formula):

        W2^2 = ||mu_x - mu_y||^2 + tr(S_x + S_y - 2 (S_x^{1/2} S_y S_x^{1/2})^{1/2})

    (Dowson & Landau 1982; Givens & Shortt 1984; Peyre & Cuturi 2019, Remark 2.31). Population
    covariances, float64 inside. The cross term is computed as the sum of square roots of the eigenvalues
    of S_y^{1/2} S_x S_y^{1/2} (same spectrum as S_x S_y), which needs one square root of the fixed target
    and gives gradients in X without the 1/(lam_i - lam_j) terms of an eigenvector derivative; eigenvalues
    below C * eps64 * lam_max count as 0 (no infinite gradient). Needs N >= 2. Zero when mean and
    covariance agree, whatever the shapes of the distributions.
    """
    MX, MY, batched = as_pair(X, Y, min_positions=2)
    return unbatch(_gaussian_w2(MX, _gaussian_w2_target(MY)), batched)


def _squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Cost matrix ||x_i - y_j||^2 for columns of x (C, n) and y (C, m), differentiable, (n, m)."""
    return (x.pow(2).sum(0)[:, None] + y.pow(2).sum(0)[None, :] - 2 * x.T @ y).clamp_min(0)


def _emd_plan(cost: Tensor) -> Tensor:
    """Exact optimal plan for uniform weights by POT's network simplex on the detached cost (float64)."""
    import numpy as np
    import ot

    n, m = cost.shape
    M = cost.detach().to(torch.float64).cpu().numpy()
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    plan, log = ot.emd(a, b, M, numItermax=max(100_000, 50 * n * m), log=True)
    if log.get("warning"):
        raise RuntimeError(
            f"exact OT did not converge ({log['warning']}); use fewer positions (max_positions)"
        )
    return torch.from_numpy(plan).to(dtype=cost.dtype, device=cost.device)


@checked
def exact_w2(
    X: Tensor, Y: Tensor, max_positions: PositiveInt | None = None, seed: NonNegativeInt = 0
) -> Tensor:
    """Exact W2^2 = min_P sum_ij P_ij ||x_i - y_j||^2 between the empirical measures of the columns of X
    and Y (uniform weights 1/n_x and 1/n_y, P in the transport polytope), solved by POT's ``ot.emd``
    (network simplex; Bonneel et al. 2011). Kantorovich 1942; Peyre & Cuturi 2019, chapter 2.

    Differentiable in X and Y: the optimal plan P* is found on detached numbers and the loss is
    sum(P* * cost(X, Y)) in torch, whose gradient is the envelope-theorem gradient of W2^2. Time grows
    about cubically and memory as n_x n_y: practical up to a few thousand positions. ``max_positions``
    keeps that many random positions of each side (drawn from ``torch.Generator().manual_seed(seed)``);
    None uses all. Sees the full geometry of the point clouds: positive for equal covariances with
    different shapes (:func:`nstlab.counterexamples.equal_covariance_pair`).
    """
    MX, MY, batched = as_pair(X, Y)
    if max_positions is not None:
        gen = torch.Generator().manual_seed(seed)
        MX, MY = (
            stats.subsample_positions(MX, max_positions, gen),
            stats.subsample_positions(MY, max_positions, gen),
        )
    values = []
    for x, y in zip(MX, MY, strict=True):
        cost = _squared_distances(x, y)
        values.append((_emd_plan(cost) * cost).sum())
    return unbatch(torch.stack(values), batched)


@checked
def block_gram_loss(Fx: Tensor, blocks: Tensor, normalize: str = "n") -> Tensor:
    """Block-diagonal Gram loss sum_k ||G^(k)(x) - G^(k)(s)||_F^2 over the diagonal channel blocks.

    ``blocks`` is the style's :func:`nstlab.stats.block_diag_gram` (K, B, B) (the block size is read from
    it), made with the same ``normalize``. Equals the Gram loss with all cross-block correlations dropped;
    memory O(C B) instead of O(C^2). Summed over the batch.
    """
    Mx, _ = as_matrices(Fx, "Fx")
    if blocks.ndim < 3 or blocks.shape[-1] != blocks.shape[-2]:
        raise ValueError(
            f"blocks must be the style's (K, B, B) stack of diagonal blocks, as made by "
            f"stats.block_diag_gram(Fs, B), got shape {tuple(blocks.shape)}"
        )
    B = blocks.shape[-1]
    if blocks.shape[-3] != -(-Mx.shape[-2] // B):
        raise ValueError(
            f"channel count mismatch: Fx has C = {Mx.shape[-2]}, which does not make {blocks.shape[-3]} "
            f"blocks of size {B}; compare features taken from the same layer"
        )
    return (stats.block_diag_gram(Fx, B, normalize) - blocks).pow(2).sum()


# ----------------------------------------------------------------------------------------------------
# Registry entries for stylize: prepare(Fs) once, compare(Fx, target) each step (scalar, summed over batch)
# ----------------------------------------------------------------------------------------------------

BLOCK_GRAM_SIZE = 64  # block size of the "block_gram" style loss
MAX_KERNEL_POSITIONS = 1024  # positions kept per side by "mmd_rbf" (kernel matrices are n x n)
MAX_EXACT_POSITIONS = 1024  # positions kept per side by "exact_w2" (network simplex is ~cubic)
SLICED_PROJECTIONS = 64  # directions drawn per call by the "sliced_w2" style loss


def _style_matrix(Fs: Tensor) -> Tensor:
    return as_matrices(Fs, "Fs")[0]


def _style_positions(Fs: Tensor, max_positions: int) -> Tensor:
    """At most ``max_positions`` positions of the style, drawn once with ``STYLE_SEED``."""
    return stats.subsample_positions(_style_matrix(Fs), max_positions, make_generator(STYLE_SEED, 0))


def _prepare_rbf(Fs: Tensor) -> dict[str, Tensor]:
    Y = _style_positions(Fs, MAX_KERNEL_POSITIONS)
    sigma = stats.median_bandwidth(Y)
    return {"Y": Y, "sigma": sigma, "kyy": stats.kernel_mean(Y, Y, "rbf", sigma)}


def _compare_rbf(Fx: Tensor, t: dict[str, Tensor], gen: torch.Generator) -> Tensor:
    MX, MY, _ = as_pair(Fx, t["Y"][..., None], ("Fx", "style"))
    X = stats.subsample_positions(MX, MAX_KERNEL_POSITIONS, gen)
    s = t["sigma"].to(X)
    kxx, kxy = stats.kernel_mean(X, X, "rbf", s), stats.kernel_mean(X, MY, "rbf", s)
    return (kxx + t["kyy"].to(X) - 2 * kxy).sum()


def _compare_exact(Fx: Tensor, Y: Tensor, gen: torch.Generator) -> Tensor:
    MX, MY, _ = as_pair(Fx, Y[..., None], ("Fx", "style"))
    X = stats.subsample_positions(MX, MAX_EXACT_POSITIONS, gen)
    return exact_w2(X[..., None], MY[..., None]).sum()  # (B, C, n, 1) maps: one value per sample


def _compare_sliced(Fx: Tensor, Y: Tensor, gen: torch.Generator) -> Tensor:
    MX, MY, _ = as_pair(Fx, Y[..., None], ("Fx", "style"))
    return _sliced(MX, MY, random_directions(MX.shape[-2], SLICED_PROJECTIONS, gen)).sum()


def _compare_sorted(Fx: Tensor, Ys: Tensor) -> Tensor:
    MX, MY, _ = as_pair(Fx, Ys[0], ("Fx", "style"))
    return _w2_sorted(MX.sort(-1).values, MY).sum()


def _compare_mean(Fx: Tensor, mu: Tensor) -> Tensor:
    MX, _ = as_matrices(Fx, "Fx")
    if MX.shape[-2] != mu.shape[-1]:
        raise ValueError(
            f"channel count mismatch: Fx has C = {MX.shape[-2]}, the style mean has {mu.shape[-1]}"
        )
    return (MX.mean(-1) - mu.to(MX)).pow(2).sum()


def _compare_gaussian(Fx: Tensor, t: dict[str, Tensor]) -> Tensor:
    MX, _ = as_matrices(Fx, "Fx", min_positions=2)
    if MX.shape[-2] != t["root"].shape[-1]:
        raise ValueError(
            f"channel count mismatch: Fx has C = {MX.shape[-2]}, the style has {t['root'].shape[-1]}"
        )
    return _gaussian_w2(MX, t).sum()


STYLE_LOSSES.update(
    {
        "mmd_linear": StyleLoss("mmd_linear", lambda Fs: _style_matrix(Fs).mean(-1), _compare_mean),
        "mmd_rbf": StyleLoss("mmd_rbf", _prepare_rbf, _compare_rbf, stochastic=True),
        "mean_std": StyleLoss("mean_std", _style_matrix, lambda Fx, Y: mean_std_loss(Fx, Y[0]).sum()),
        "ot1d": StyleLoss(
            "ot1d",
            lambda Fs: _style_matrix(Fs).sort(-1).values,
            _compare_sorted,
        ),
        "sliced_w2": StyleLoss("sliced_w2", _style_matrix, _compare_sliced, stochastic=True),
        "gaussian_w2": StyleLoss(
            "gaussian_w2", lambda Fs: _gaussian_w2_target(as_matrices(Fs, "Fs", 2)[0]), _compare_gaussian
        ),
        "exact_w2": StyleLoss(
            "exact_w2", lambda Fs: _style_positions(Fs, MAX_EXACT_POSITIONS), _compare_exact, stochastic=True
        ),
        "block_gram": StyleLoss(
            "block_gram", lambda Fs: stats.block_diag_gram(Fs, BLOCK_GRAM_SIZE), block_gram_loss
        ),
    }
)
"""Style losses by name. ``"gram"`` is MMD with the poly2 kernel (Li et al. 2017), so no "mmd_poly2" entry.
The stochastic ones draw anew at every step from the generator the caller passes
(``make_generator(seed, step)``): ``"sliced_w2"`` 64 directions, ``"mmd_rbf"`` and ``"exact_w2"`` random
positions (at most 1024 per side; the style's are drawn once). ``"exact_w2"`` costs about a second per layer
and step at 1024 positions."""
