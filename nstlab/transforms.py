"""Feature transforms of fast style transfer: AdaIN (and its entropy change), IN vs BN, WCT, the Gaussian
OT map. Pixel-space colour transfer built on them lives in :mod:`nstlab.color`.

Each takes content features and style features as (C, N) matrices or (B, C, H, W) maps (a style batch of
one is broadcast over the content batch; the numbers of positions may differ) and returns features in the
content's shape, dtype and device. Covariances and eigendecompositions run in float64 and are cast back.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._features import as_matrices, as_pair, check_choice, check_eps, like_input, unbatch
from .stats import entropy, moments64, sqrtm_psd, sym_eig
from .validation import AnyTensor, Fraction, checked

__all__ = [
    "adain",
    "adain_to_moments",
    "wct_to_moments",
    "EntropyChange",
    "adain_entropy_change",
    "instance_norm",
    "batch_norm",
    "NormComparison",
    "in_vs_bn",
    "kept_directions",
    "coloring_matrix",
    "AffineMap",
    "wct_matrix",
    "wct",
    "apply_map",
    "whiten",
    "coloring",
    "gaussian_ot_matrix",
    "gaussian_ot_map",
]

WCT_SUBSPACES = ("content", "style", "aligned")  # where the WCT output lives when directions are dropped
ADAIN_EPS = 1e-5  # the default eps of AdaIN's stds sqrt(var + eps) (and of stats.mean_std)

# ----------------------------------------------------------------------------------------------------
# AdaIN, instance and batch normalization
# ----------------------------------------------------------------------------------------------------


def _blend(out: Tensor, content: Tensor, alpha: float) -> Tensor:
    """alpha * out + (1 - alpha) * content: the content-style trade-off of AdaIN and WCT."""
    return out if alpha == 1.0 else alpha * out + (1 - alpha) * content


def _content_style(content: Tensor, style: Tensor, min_positions: int) -> tuple[Tensor, Tensor]:
    """(B, C, N) stacks of content and style (style cast to the content's dtype/device, batches matched)."""
    Mc, Ms, _ = as_pair(content, style, ("content", "style"), min_positions)
    if Mc.shape[0] != (content.shape[0] if content.ndim == 4 else 1):
        raise ValueError(
            f"the style has more samples than the content ({tuple(style.shape)} vs {tuple(content.shape)}); "
            "pass one style or one style per content sample"
        )
    return Mc, Ms


def _channel_moments(M: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """(mu, sqrt(var + eps)) per channel of a (B, C, N) stack, population variance, each (B, C, 1)."""
    return M.mean(-1, keepdim=True), (M.var(-1, keepdim=True, correction=0) + eps).sqrt()


def _renormalize(Mc: Tensor, mu_s: Tensor, sd_s: Tensor, eps: float) -> Tensor:
    """sigma_s (x - mu_x) / sigma_x + mu_s per channel of a (B, C, N) stack: AdaIN's formula (eq. 8)."""
    mu_c, sd_c = _channel_moments(Mc, eps)
    return sd_s * (Mc - mu_c) / sd_c + mu_s


@checked
def adain(content: Tensor, style: Tensor, alpha: Fraction = 1.0, eps: float = ADAIN_EPS) -> Tensor:
    """Adaptive instance normalization (Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time
    with Adaptive Instance Normalization", eq. 8), blended with the content by ``alpha``:

        AdaIN(x, s)_c = sigma(s_c) (x_c - mu(x_c)) / sigma(x_c) + mu(s_c),
        out = alpha AdaIN(x, s) + (1 - alpha) x,

    mu and sigma per channel over positions, sigma = sqrt(population variance + eps) as in
    :func:`nstlab.stats.mean_std`. Matches each channel's mean and std to the style's and ignores
    correlations between channels. A constant content channel maps to the style mean (no NaN).
    Needs eps > 0, alpha in [0, 1] and N >= 2 on both sides.
    """
    check_eps(eps)
    Mc, Ms = _content_style(content, style, min_positions=2)
    out = _renormalize(Mc, *_channel_moments(Ms, eps), eps)
    return like_input(_blend(out, Mc, alpha), content)


@checked
def adain_to_moments(
    content: Tensor, style_mean: Tensor, style_std: Tensor, eps: float = ADAIN_EPS
) -> Tensor:
    """AdaIN with the style given by its statistics: sigma_s (x_c - mu(x_c)) / sigma(x_c) + mu_s.

    The same formula as :func:`adain` (sigma(x_c) = sqrt(var + eps)), for when only the style's channel
    means ``style_mean`` and stds ``style_std`` are known (e.g. precomputed over a bank of style images:
    :mod:`nstlab.decoder_training`). They are (C,) for a (C, N) content, (C,) or (B, C) for (B, C, H, W).
    """
    check_eps(eps)
    Mc, _ = as_matrices(content, "content", min_positions=2)
    stats_shape = (Mc.shape[0], Mc.shape[1])
    for name, v in (("style_mean", style_mean), ("style_std", style_std)):
        if v.shape not in (stats_shape, stats_shape[1:]):
            raise ValueError(
                f"{name} must have shape ({Mc.shape[1]},) or {stats_shape} to match the content "
                f"{tuple(content.shape)}, got {tuple(v.shape)}"
            )
    if bool((style_std < 0).any()):
        raise ValueError("style_std must be >= 0 (a standard deviation), got negative values")
    mu_s, sd_s = (v.to(Mc).expand(stats_shape).unsqueeze(-1) for v in (style_mean, style_std))
    return like_input(_renormalize(Mc, mu_s, sd_s, eps), content)


class EntropyChange(NamedTuple):
    """Result of :func:`adain_entropy_change`, one value per channel ((C,) or (B, C))."""

    measured: Tensor  # entropy(AdaIN(x))_c - entropy(x)_c, histogram estimates
    exact: Tensor  # log(sigma_s / sigma_c): AdaIN is affine per channel with slope sigma_s / sigma_c


@checked
def adain_entropy_change(
    content: Tensor, style: Tensor, eps: float = ADAIN_EPS, bins: int | str | None = None
) -> EntropyChange:
    """Per-channel entropy change of AdaIN, measured and exact.

    AdaIN(x)_c = sigma_s (x_c - mu_c) / sigma_c + mu_s is affine in x_c with slope a_c = sigma_s / sigma_c
    (both stds include eps as in :func:`nstlab.stats.mean_std`), and differential entropy obeys
    h(a X + b) = h(X) + log|a| (Cover & Thomas, Thm 8.6.4), so the change is exactly log(sigma_s / sigma_c).
    The measured value uses :func:`nstlab.stats.entropy` before and after with bins fitted to each
    channel's range (or ``bins``); that estimator is affine-equivariant by construction, so the two agree
    to rounding: a check of the estimator and of the slope, not of the theorem (for an independent
    measurement use ``stats.entropy(..., bin_width=w)``, a fixed grid; chapter 05). A constant content
    channel (entropy -inf before and after) is an error.
    """
    Mc, batched = as_matrices(content, "content", min_positions=2)
    Ms, _ = as_matrices(style, "style", min_positions=2)
    constant = Mc.amax(-1) == Mc.amin(-1)
    if bool(constant.any()):
        bad = torch.nonzero(constant)[:, -1].unique().tolist()
        raise ValueError(
            f"content channel(s) {bad} are constant: their entropy is -inf before and after AdaIN, so the "
            "change is undefined; drop them first (e.g. keep channels with F.std(-1) > 0)"
        )
    check_eps(eps)
    sc = (Mc.to(torch.float64).var(-1, correction=0) + eps).sqrt()
    ss = (Ms.to(torch.float64).var(-1, correction=0) + eps).sqrt()
    exact = unbatch(torch.broadcast_to(ss / sc, torch.broadcast_shapes(ss.shape, sc.shape)), batched)
    # in float64: a float32 AdaIN can round a value across a histogram bin edge (~5e-4 nats on VGG features)
    c64, s64 = content.to(torch.float64), style.to(torch.float64)
    measured = (entropy(adain(c64, s64, eps=eps), bins) - entropy(c64, bins)).to(content.dtype)
    return EntropyChange(measured, exact.log().to(measured.dtype))


@checked
def instance_norm(F: Tensor, eps: float = 1e-5) -> Tensor:
    """Instance normalization (Ulyanov et al. 2016, "Instance Normalization: The Missing Ingredient for
    Fast Stylization"): y_bc = (x_bc - mu_bc) / sqrt(var_bc + eps), statistics of each sample and channel
    over its positions, population variance, no affine parameters. Every sample gets mean 0 and std ~1
    per channel whatever its companions in the batch."""
    check_eps(eps)
    M, _ = as_matrices(F, min_positions=2)
    y = (M - M.mean(-1, keepdim=True)) / (M.var(-1, keepdim=True, correction=0) + eps).sqrt()
    return like_input(y, F)


@checked
def batch_norm(F: Tensor, eps: float = 1e-5) -> Tensor:
    """Batch normalization in training mode (Ioffe & Szegedy 2015): y_bc = (x_bc - mu_c) / sqrt(var_c + eps),
    statistics of channel c pooled over the whole batch and all positions, population variance, no affine
    parameters. Each sample's output depends on the other samples of the batch. For a (C, N) matrix (one
    sample) it equals :func:`instance_norm`."""
    check_eps(eps)
    M, _ = as_matrices(F, min_positions=2)
    pooled = M.transpose(0, 1).reshape(M.shape[1], -1)  # (C, B*N)
    mu = pooled.mean(-1)[None, :, None]
    var = pooled.var(-1, correction=0)[None, :, None]
    return like_input((M - mu) / (var + eps).sqrt(), F)


class NormComparison(NamedTuple):
    """Result of :func:`in_vs_bn`. Per-sample statistics are (B, C); the spreads are 0-d tensors."""

    in_mean: Tensor  # per-sample channel means after IN (all ~0)
    in_std: Tensor  # per-sample channel stds after IN (all ~1)
    bn_mean: Tensor  # per-sample channel means after BN: (mu_bc - mu_c) / sigma_c, differ across samples
    bn_std: Tensor  # per-sample channel stds after BN: sigma_bc / sigma_c
    in_spread: Tensor  # RMS over (b, c) of the distance of (mean, std) from (0, 1) after IN
    bn_spread: Tensor  # the same after BN: the per-sample style statistics BN leaves in place
    bn_companion_change: (
        Tensor  # max |BN(batch)[0] - BN(batch[0] alone)|: how much sample 0 depends on the rest
    )
    live: Tensor  # (B, C) bool: channels of each sample with variance > 100 eps (the spreads use these)


@checked
def in_vs_bn(features: Tensor, eps: float = 1e-5) -> NormComparison:
    """Normalize a batch of feature maps of different styles (B, C, H, W) with IN and with BN and report
    how each treats the per-sample statistics (the text's IN vs BN argument, Huang & Belongie 2017 sec. 3).

    IN gives every sample mean 0 and std 1 in every channel (``in_spread`` ~ 0): style statistics are
    removed per image. BN subtracts one batch mean and divides by one batch std per channel, so each
    sample keeps its own offset and scale (``bn_spread`` > 0 when the styles differ) and its output
    changes with the other images in the batch (``bn_companion_change`` > 0).

    The spreads are taken over the ``live`` (sample, channel) pairs, whose input variance exceeds 100 eps:
    a constant channel (a dead ReLU) has no contrast to normalize, and IN maps it to 0 with std 0, not 1.
    """
    if features.ndim != 4 or features.shape[0] < 2 or features[0, 0].numel() == 0:
        raise ValueError(
            f"in_vs_bn needs a batch of at least two feature maps (B, C, H, W) with H, W >= 1, got "
            f"{tuple(features.shape)}"
        )
    live = features.flatten(2).var(-1, correction=0) > 100 * eps
    if not bool(live.any()):
        raise ValueError(
            f"every channel of every sample is constant (variance <= {100 * eps:g}): nothing to normalize"
        )
    stats = []
    for y in (instance_norm(features, eps), batch_norm(features, eps)):
        M = y.flatten(2)
        mean, std = M.mean(-1), M.std(-1, correction=0)
        spread = ((mean.pow(2) + (std - 1).pow(2))[live].mean()).sqrt()
        stats.append((mean, std, spread))
    change = (batch_norm(features, eps)[:1] - batch_norm(features[:1], eps)).abs().max()
    (im, isd, isp), (bm, bsd, bsp) = stats
    return NormComparison(im, isd, bm, bsd, isp, bsp, change, live)


# ----------------------------------------------------------------------------------------------------
# Whitening and coloring (WCT)
# ----------------------------------------------------------------------------------------------------


@checked
def kept_directions(lam: Tensor, rank_tol: float | None, N: int, dtype: torch.dtype) -> Tensor:
    """Mask of kept eigen-directions (descending lam (B, C)): lam > rank_tol * lam_max and rank < N.

    ``rank_tol=None`` means C * finfo(dtype).eps, the numerical rank at the input's precision (the rule of
    ``numpy.linalg.matrix_rank``); the count is also capped at N - 1, the rank of N centred positions.
    ``rank_tol=0`` keeps every direction (no truncation).
    """
    C = lam.shape[-1]
    if rank_tol == 0:
        return torch.ones_like(lam, dtype=torch.bool)
    tol = C * torch.finfo(dtype).eps if rank_tol is None else rank_tol
    if tol < 0:
        raise ValueError(f"rank_tol must be >= 0 (or None for the default), got {rank_tol!r}")
    lam_max = lam[..., :1]
    keep = (lam > tol * lam_max) & (lam_max > 0)
    return keep & (torch.arange(C, device=lam.device) < N - 1)


def _inverse_sqrt_parts(
    S: Tensor, eps: float, rank_tol: float | None, N: int, dtype: torch.dtype, method: str
) -> tuple[Tensor, Tensor, Tensor]:
    """Eigenvectors E, kept mask m and weights w = m / sqrt(lam + eps) of a covariance (float64)."""
    check_eps(eps, allow_zero=True)
    lam, E = sym_eig(S, method)
    keep = kept_directions(lam, rank_tol, N, dtype)
    if eps == 0:
        tiny = lam.shape[-1] * torch.finfo(torch.float64).eps * lam[..., :1].abs().clamp_min(1e-300)
        if bool((keep & (lam <= tiny)).any()):
            raise ValueError(
                "the content covariance is singular (N < C, constant or linearly dependent channels) and "
                "eps = 0 with rank_tol = 0 leaves nothing to fix it; pass eps > 0 (e.g. 1e-5) or leave "
                "rank truncation on (rank_tol=None)"
            )
    w = torch.where(keep, (lam.clamp_min(0) + eps).clamp_min(1e-300).rsqrt(), torch.zeros_like(lam))
    return E, keep, w


def _whitening_matrix(
    Mc: Tensor, eps: float, rank_tol: float | None, method: str
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(W, E, keep, mu) with W = E diag(m / sqrt(lam + eps)) E^T the ZCA whitening matrix of Mc, float64."""
    mu, S = moments64(Mc)
    E, keep, w = _inverse_sqrt_parts(S, eps, rank_tol, Mc.shape[-1], Mc.dtype, method)
    return (E * w.unsqueeze(-2)) @ E.transpose(-1, -2), E, keep, mu


@checked
def coloring_matrix(E: Tensor, keep: AnyTensor, Ss: Tensor) -> Tensor:
    """(P Ss P)^{1/2} with P = E diag(keep) E^T the projector on the kept content subspace (float64).

    With everything kept this is Ss^{1/2}. Otherwise it is computed in the content eigenbasis:
    T = E^T Ss E with rows/columns of dropped directions zeroed, T^{1/2} by eigh, mapped back E T^{1/2} E^T.
    """
    if bool(keep.all()):
        return sqrtm_psd(Ss)
    m = keep.to(Ss.dtype)
    T = (E.transpose(-1, -2) @ Ss @ E) * (m.unsqueeze(-1) * m.unsqueeze(-2))
    return E @ sqrtm_psd((T + T.transpose(-1, -2)) / 2) @ E.transpose(-1, -2)


class AffineMap(NamedTuple):
    """An affine feature map x -> A (x - mu_c) + mu_s (float64; A (B, C, C), mu_c and mu_s (B, C, 1))."""

    A: Tensor
    mu_c: Tensor
    mu_s: Tensor


def _procrustes_rotation(E_s: Tensor, E_c: Tensor, m: Tensor) -> Tensor:
    """Q = E_s,m U V^T E_c,m^T per batch item, U S V^T the SVD of E_s,m^T E_c,m (first m eigenvectors):
    of all maps sending the content's top-m eigenspace isometrically onto the style's, the one closest to
    the identity (orthogonal Procrustes; Q = I when m = C)."""
    Q = torch.zeros_like(E_c)
    for b in range(E_c.shape[0]):
        k = int(m[b])
        if k > 0:
            Es, Ec = E_s[b, :, :k], E_c[b, :, :k]
            U, _, Vh = torch.linalg.svd(Es.transpose(-1, -2) @ Ec)
            Q[b] = Es @ (U @ Vh) @ Ec.transpose(-1, -2)
    return Q


def _style_subspace_map(
    Mc: Tensor, Ms: Tensor, eps: float, rank_tol: float | None, method: str, aligned: bool
) -> AffineMap:
    """WCT colored with the style's own eigenpairs. Not ``aligned``: Li et al.'s code (``feature_wct``),
    whitening on the content's kept directions and coloring on the style's kept directions, each side's
    count found on its own. ``aligned``: both sides on their top m = min(kept content, kept style)
    directions, the content's top-m eigenspace first rotated onto the style's."""
    mu_c, Sc = moments64(Mc)
    mu_s, Ss = moments64(Ms)
    E, keep, w = _inverse_sqrt_parts(Sc, eps, rank_tol, Mc.shape[-1], Mc.dtype, method)
    lam_s, E_s = sym_eig(Ss, method)
    keep_s = kept_directions(lam_s, rank_tol, Ms.shape[-1], Ms.dtype)
    if aligned:
        m = torch.minimum(keep.sum(-1), keep_s.sum(-1))
        keep = keep_s = torch.arange(lam_s.shape[-1], device=lam_s.device) < m.unsqueeze(-1)
    W = (E * torch.where(keep, w, 0.0).unsqueeze(-2)) @ E.transpose(-1, -2)
    R = (E_s * torch.where(keep_s, lam_s.clamp_min(0).sqrt(), 0.0).unsqueeze(-2)) @ E_s.transpose(-1, -2)
    if aligned:
        R = R @ _procrustes_rotation(E_s, E, m)
    return AffineMap(R @ W, mu_c, mu_s)


def _wct_map(
    Mc: Tensor, Ms: Tensor, eps: float, rank_tol: float | None, method: str, subspace: str = "content"
) -> AffineMap:
    check_choice(subspace, WCT_SUBSPACES, "subspace")
    if subspace != "content":
        return _style_subspace_map(Mc, Ms, eps, rank_tol, method, aligned=subspace == "aligned")
    W, E, keep, mu_c = _whitening_matrix(Mc, eps, rank_tol, method)
    mu_s, Ss = moments64(Ms)
    return AffineMap(coloring_matrix(E, keep, Ss) @ W, mu_c, mu_s)


@checked
def wct_matrix(
    content: Tensor,
    style: Tensor,
    eps: float = 1e-5,
    rank_tol: float | None = None,
    method: str = "eigh",
    subspace: str = "content",
) -> AffineMap:
    """The WCT map as an affine map: A = (P S_s P)^{1/2} E diag(m / sqrt(lam + eps)) E^T for the default
    ``subspace="content"`` (see :func:`wct` for the other colorings).

    Compute it once and :func:`apply_map` it for every alpha of a slider: the eigendecompositions are the
    expensive part.
    """
    return _wct_map(*_content_style(content, style, min_positions=2), eps, rank_tol, method, subspace)


def _apply(T: AffineMap, Mc: Tensor) -> Tensor:
    """A (x - mu_c) + mu_s applied to a (B, C, N) stack in its own dtype."""
    A, mu_c, mu_s = (t.to(Mc.dtype) for t in T)
    return A @ (Mc - mu_c) + mu_s


@checked
def wct(
    content: Tensor,
    style: Tensor,
    alpha: Fraction = 1.0,
    eps: float = 1e-5,
    rank_tol: float | None = None,
    method: str = "eigh",
    subspace: str = "content",
) -> Tensor:
    """Whitening and coloring transform (Li et al. 2017, "Universal Style Transfer via Feature Transforms"):

        z = S_c^{-1/2} (x - mu_c),   out = S_s^{1/2} z + mu_s,   result = alpha out + (1 - alpha) x,

    with population covariances S (divide by N) computed in float64 and S^{+-1/2} from ``torch.linalg.eigh``
    (``method="svd"`` uses ``torch.linalg.svd`` like the original code; same result, slower).
    The output has exactly the style's mean and covariance (when eps -> 0), including the correlations
    between channels that AdaIN ignores.

    Regularization, for the singular covariance of N < C positions (or dead channels):

    - eps*I: whitening uses (lam + eps)^{-1/2}; eps >= 0 (1e-5 default).
    - rank truncation (PCA): eigen-directions with lam <= rank_tol * lam_max are dropped, and at most
      N - 1 are kept. ``rank_tol=None`` (default) is C * finfo(input dtype).eps (numerical rank at the
      input's precision); ``rank_tol=0`` turns truncation off.

    Coloring when directions are dropped (N - 1 < C or dead channels leave k < C of them; the output
    covariance then has rank <= k whatever the map). ``subspace`` chooses; with full rank all three are
    the same map, S_s^{1/2} S_c^{-1/2}:

    - ``"content"`` (default): (P S_s P)^{1/2}, P the projector on the kept content subspace. The output
      covariance is P S_s P, the style's covariance on every direction the content spans, and the output
      stays in that subspace: the content's signal is not moved to other channel directions, and with
      dead channels (but N > C) the output matches the style exactly on every live channel. It is not
      the closest to S_s: see ``"aligned"``.
    - ``"style"``: the truncation of Li et al.'s code (``feature_wct`` in their Torch implementation):
      whiten on the content's k_c kept directions and color with the style's own k_s kept eigenpairs,
      E_s,ks diag(sqrt(lam_s,ks)) E_s,ks^T, each count found on its own side (their threshold is an
      absolute 1e-5; here the same relative ``rank_tol`` as for the content). Output covariance
      S_s,ks^{1/2} P S_s,ks^{1/2}: for a style of full numerical rank, S_s^{1/2} P S_s^{1/2}, what eps*I
      alone gives.
    - ``"aligned"``: whiten and color on the top m = min(kept content, kept style) directions of each
      side, after rotating the content's top-m eigenspace onto the style's with the rotation closest to
      the identity (orthogonal Procrustes). Output covariance S_s,m = E_s,m diag(lam_s,m) E_s,m^T (for
      eps -> 0), the best rank-m approximation of S_s (Eckart & Young 1936): the closest any map of the
      content can come. The rotation pairs content and style directions by the
      order of their eigenvalues, so the content's signal can land in channels that mean something else
      (chapter 06 shows a picture that loses its content this way).

    eps < 0 is an error, and so is eps = 0 with rank_tol = 0 on a singular covariance. A constant content
    maps to the style mean. ``alpha`` in [0, 1].
    """
    Mc, Ms = _content_style(content, style, min_positions=2)
    T = _wct_map(Mc, Ms, eps, rank_tol, method, subspace)
    return like_input(_blend(_apply(T, Mc), Mc, alpha), content)


@checked
def wct_to_moments(content: Tensor, style_mean: Tensor, style_cov: Tensor, eps: float = 1e-5) -> Tensor:
    """WCT with the style given by its statistics: (P S_s P)^{1/2} S_c^{-1/2} (x - mu_c) + mu_s, the map of
    :func:`wct` (``subspace="content"``, ``rank_tol=None``) for when only the style's mean
    ``style_mean`` (B, C, 1) and population covariance ``style_cov`` (B, C, C) are known, as
    :func:`nstlab.stats.moments64` returns them: a style used for many pictures is summarized once
    (:func:`nstlab.decoders.style_statistics`).
    """
    check_eps(eps)
    Mc, _ = as_matrices(content, "content", min_positions=2)
    C = Mc.shape[-2]
    if style_mean.shape[-2:] != (C, 1) or style_cov.shape[-2:] != (C, C):
        raise ValueError(
            f"style statistics for C = {C} channels must be a (B, {C}, 1) mean and a (B, {C}, {C}) "
            f"covariance, got {tuple(style_mean.shape)} and {tuple(style_cov.shape)}; use stats.moments64"
        )
    W, E, keep, mu_c = _whitening_matrix(Mc, eps, None, "eigh")
    T = AffineMap(coloring_matrix(E, keep, style_cov.to(torch.float64)) @ W, mu_c, style_mean)
    return like_input(_apply(T, Mc), content)


@checked
def apply_map(T: AffineMap, content: Tensor, alpha: Fraction = 1.0) -> Tensor:
    """alpha (A (x - mu_c) + mu_s) + (1 - alpha) x for a map from :func:`wct_matrix` or
    :func:`gaussian_ot_matrix`, in the content's shape and dtype (cheap: one matrix product)."""
    Mc, _ = as_matrices(content, "content")
    if Mc.shape[-2] != T.A.shape[-1]:
        raise ValueError(
            f"channel count mismatch: content has C = {Mc.shape[-2]}, the map is {tuple(T.A.shape)}"
        )
    return like_input(_blend(_apply(T, Mc), Mc, alpha), content)


@checked
def whiten(F: Tensor, eps: float = 1e-5, rank_tol: float | None = None) -> Tensor:
    """ZCA whitening z = S^{-1/2} (f - mu) = E diag(m / sqrt(lam + eps)) E^T (f - mu), the first step of WCT.

    The result has covariance E diag(m lam / (lam + eps)) E^T: the identity on the kept subspace (up to
    eps) and zero on dropped directions. eps and rank_tol as in :func:`wct`.
    """
    M, _ = as_matrices(F, min_positions=2)
    W, _, _, mu = _whitening_matrix(M, eps, rank_tol, "eigh")
    return like_input(W.to(M.dtype) @ (M - mu.to(M.dtype)), F)


@checked
def coloring(Z: Tensor, style: Tensor, rank_tol: float | None = None) -> Tensor:
    """Coloring out = (P S_s P)^{1/2} z + mu_s, the second step of WCT.

    P projects on the subspace the whitened features Z span (eigen-directions of cov(Z) above rank_tol
    as in :func:`wct`): with full-rank Z this is S_s^{1/2} z + mu_s, and ``coloring(whiten(x), s)`` equals
    ``wct(x, s)`` in every case.
    """
    Mz, Ms = _content_style(Z, style, min_positions=2)
    _, Sz = moments64(Mz)
    lam, E = sym_eig(Sz)
    keep = kept_directions(lam, rank_tol, Mz.shape[-1], Mz.dtype)
    mu_s, Ss = moments64(Ms)
    R = coloring_matrix(E, keep, Ss)
    return like_input(R.to(Mz.dtype) @ Mz + mu_s.to(Mz.dtype), Z)


# ----------------------------------------------------------------------------------------------------
# Gaussian optimal transport map
# ----------------------------------------------------------------------------------------------------


@checked
def gaussian_ot_matrix(content: Tensor, style: Tensor, eps: float = 0.0) -> AffineMap:
    """Monge map between Gaussians fitted to content and style (float64 affine map):

        T(x) = mu_s + A (x - mu_c),   A = S_c^{-1/2} (S_c^{1/2} S_s S_c^{1/2})^{1/2} S_c^{-1/2}

    (Dowson & Landau 1982; Knott & Smith 1984; Peyre & Cuturi 2019, "Computational Optimal Transport",
    Remark 2.31). A is symmetric positive definite and A S_c A = S_s: T pushes N(mu_c, S_c) to
    N(mu_s, S_s) with the least mean squared displacement, unlike the WCT matrix S_s^{1/2} S_c^{-1/2}, which
    reaches the same Gaussian but is not symmetric. ``eps`` >= 0 is added to S_c; a singular S_c with
    eps = 0 is an error. A is symmetrized (A + A^T)/2 against rounding.
    """
    return _gaussian_ot(*_content_style(content, style, min_positions=2), eps)


def _gaussian_ot(Mc: Tensor, Ms: Tensor, eps: float) -> AffineMap:
    check_eps(eps, allow_zero=True)
    mu_c, Sc = moments64(Mc)
    mu_s, Ss = moments64(Ms)
    lam, E = torch.linalg.eigh(Sc)
    lam = lam + eps
    C = lam.shape[-1]
    if bool((lam <= C * torch.finfo(torch.float64).eps * lam[..., -1:].abs().clamp_min(1e-300)).any()):
        raise ValueError(
            "the content covariance is singular (N < C or constant/dependent channels): S_c^{-1/2} does not "
            "exist; pass eps > 0 (e.g. 1e-5) to regularize it"
        )
    root = (E * lam.sqrt().unsqueeze(-2)) @ E.transpose(-1, -2)
    inv_root = (E * lam.rsqrt().unsqueeze(-2)) @ E.transpose(-1, -2)
    middle = root @ Ss @ root
    A = inv_root @ sqrtm_psd((middle + middle.transpose(-1, -2)) / 2) @ inv_root
    return AffineMap((A + A.transpose(-1, -2)) / 2, mu_c, mu_s)


@checked
def gaussian_ot_map(content: Tensor, style: Tensor, eps: float = 0.0) -> Tensor:
    """Apply the Gaussian OT (Monge/Bures) map T(x) = mu_s + A (x - mu_c) of :func:`gaussian_ot_matrix`."""
    Mc, Ms = _content_style(content, style, min_positions=2)
    return like_input(_apply(_gaussian_ot(Mc, Ms, eps), Mc), content)
