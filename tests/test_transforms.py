"""Tests of nstlab.transforms: moments and covariances after the transforms; references from torch, scipy."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as nnf
from hypothesis import given, settings
from hypothesis import strategies as st
from seeded import correlated, rand

from nstlab import losses, stats, transforms

SETTINGS = settings(
    max_examples=int(os.environ.get("NSTLAB_HYPOTHESIS_EXAMPLES", 25)), deadline=None, derandomize=True
)


def cov_np(F: torch.Tensor) -> np.ndarray:
    A = F.double().numpy().reshape(-1, F.shape[-1]) if F.ndim == 2 else F[0].double().flatten(1).numpy()
    return np.cov(A, bias=True)


# -------------------------------------------------------------------- AdaIN


@SETTINGS
@given(
    C=st.integers(1, 5),
    nc=st.integers(2, 60),
    ns=st.integers(2, 60),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 1000),
)
def test_adain_output_has_the_style_moments(C, nc, ns, dtype, seed):
    content = rand(C, nc, seed=seed, dtype=dtype) * 2 + 1
    style = rand(C, ns, seed=seed + 1, dtype=dtype) * 3 - 2
    out = transforms.adain(content, style, eps=1e-12)
    assert out.shape == content.shape and out.dtype == dtype
    t = 1e-4 if dtype == torch.float32 else 1e-9
    np.testing.assert_allclose(out.double().mean(-1).numpy(), style.double().mean(-1).numpy(), atol=t * 10)
    np.testing.assert_allclose(
        out.double().std(-1, correction=0).numpy(),
        style.double().std(-1, correction=0).numpy(),
        rtol=t,
        atol=t,
    )


def test_adain_formula_batch_broadcast_and_alpha():
    content, style = rand(2, 3, 5, 5, seed=1), rand(1, 3, 4, 6, seed=2) * 2 + 3
    out = transforms.adain(content, style)
    c, s = content.flatten(2), style.flatten(2)
    expected = (c - c.mean(-1, keepdim=True)) / (c.var(-1, keepdim=True, correction=0) + 1e-5).sqrt()
    expected = expected * (s.var(-1, keepdim=True, correction=0) + 1e-5).sqrt() + s.mean(-1, keepdim=True)
    torch.testing.assert_close(out, expected.reshape(content.shape))
    torch.testing.assert_close(transforms.adain(content, style, alpha=0.3), 0.3 * out + 0.7 * content)
    torch.testing.assert_close(transforms.adain(content, style, alpha=0.0), content)


def test_adain_constant_channel_gives_the_style_mean_not_nan():
    content = rand(3, 20, seed=3)
    content[1] = 5.0
    style = rand(3, 30, seed=4) + 2
    out = transforms.adain(content, style)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[1], torch.full((20,), style[1].mean().item(), dtype=torch.float64))


def test_adain_bad_inputs():
    X = rand(3, 10)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        transforms.adain(X, X, eps=0.0)
    with pytest.raises(ValueError, match="eps"):
        transforms.adain(X, X, eps=-1e-5)
    with pytest.raises(ValueError, match="alpha"):
        transforms.adain(X, X, alpha=1.5)
    with pytest.raises(ValueError, match="channel count mismatch"):
        transforms.adain(X, rand(4, 10))
    with pytest.raises(ValueError, match="at least 2"):
        transforms.adain(rand(3, 1), X)
    with pytest.raises(ValueError, match="NaN or inf"):
        transforms.adain(X, X / 0)
    with pytest.raises(ValueError, match="more samples"):
        transforms.adain(rand(1, 3, 4, 4), rand(2, 3, 4, 4))


# -------------------------------------------------------------------- IN vs BN


def test_adain_to_moments_is_adain_with_the_style_statistics():
    content, style = rand(2, 5, 6, 7, seed=60), correlated(5, 90, seed=61)
    mu_s, sd_s = stats.mean_std(style)
    torch.testing.assert_close(
        transforms.adain_to_moments(content, mu_s, sd_s), transforms.adain(content, style)
    )
    per_sample = transforms.adain_to_moments(content, mu_s.expand(2, -1), sd_s.expand(2, -1))
    torch.testing.assert_close(per_sample, transforms.adain(content, style))
    with pytest.raises(ValueError, match=r"style_mean must have shape \(5,\)"):
        transforms.adain_to_moments(content, mu_s[:4], sd_s)


def test_wct_to_moments_is_wct_with_the_style_statistics_and_gives_the_style_covariance():
    content, style = rand(1, 5, 9, 9, seed=62), rand(1, 5, 8, 10, seed=63).pow(3)
    mu_s, cov_s = stats.moments64(style.flatten(2))
    out = transforms.wct_to_moments(content, mu_s, cov_s, eps=1e-12)
    torch.testing.assert_close(out, transforms.wct(content, style, eps=1e-12))
    # the closed form: the output has the style's mean and covariance (numpy, float64)
    o = out.flatten(2)[0].numpy()
    s = style.flatten(2)[0].numpy()
    np.testing.assert_allclose(np.cov(o, bias=True), np.cov(s, bias=True), atol=1e-8)
    np.testing.assert_allclose(o.mean(1), s.mean(1), atol=1e-10)
    with pytest.raises(ValueError, match=r"\(B, 5, 1\) mean and a \(B, 5, 5\)"):
        transforms.wct_to_moments(content, mu_s[:, :4], cov_s)


def test_adain_entropy_change_measured_equals_exact():
    content = rand(1, 4, 16, 16, seed=15) * torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64).view(
        1, 4, 1, 1
    )
    style = rand(1, 4, 10, 10, seed=16).pow(3) * 3 + 1
    change = transforms.adain_entropy_change(content, style)
    torch.testing.assert_close(change.measured, change.exact, atol=1e-9, rtol=0)
    _, sc = stats.mean_std(content)
    _, ss = stats.mean_std(style)
    torch.testing.assert_close(change.exact, (ss / sc).log())


def test_adain_entropy_change_rejects_a_constant_content_channel():
    content = rand(3, 50, seed=17)
    content[1] = 0.0
    with pytest.raises(ValueError, match=r"channel\(s\) \[1\] are constant"):
        transforms.adain_entropy_change(content, rand(3, 40, seed=18))


def test_instance_and_batch_norm_match_torch():
    F = rand(3, 4, 5, 6, seed=5) * 2 + 1
    torch.testing.assert_close(transforms.instance_norm(F), nnf.instance_norm(F, eps=1e-5))
    torch.testing.assert_close(
        transforms.batch_norm(F), nnf.batch_norm(F, None, None, training=True, eps=1e-5)
    )
    torch.testing.assert_close(transforms.batch_norm(F[:1]), transforms.instance_norm(F[:1]))
    with pytest.raises(ValueError, match="eps"):
        transforms.instance_norm(F, eps=0)


def test_in_vs_bn_reports_the_statistics_bn_leaves_per_sample():
    means = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64).view(3, 1, 1, 1)
    scales = torch.tensor([1.0, 3.0, 0.5], dtype=torch.float64).view(3, 1, 1, 1)
    F = rand(3, 4, 8, 8, seed=6) * scales + means
    r = transforms.in_vs_bn(F)
    assert r.in_spread.item() < 1e-3 and r.bn_spread.item() > 0.3
    A = F.flatten(2).numpy()  # closed form of BN's per-sample means and stds, from pooled statistics
    mu, sd = A.transpose(1, 0, 2).reshape(4, -1).mean(-1), A.transpose(1, 0, 2).reshape(4, -1).std(-1)
    np.testing.assert_allclose(
        r.bn_mean.numpy(), (A.mean(-1) - mu) / np.sqrt(sd**2 + 1e-5), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(r.bn_std.numpy(), A.std(-1) / np.sqrt(sd**2 + 1e-5), rtol=1e-10)
    assert r.bn_companion_change.item() > 0.1
    same = transforms.in_vs_bn(F[:1].expand(3, -1, -1, -1))  # identical companions: BN = IN
    assert same.bn_companion_change.item() < 1e-12 and same.bn_spread.item() < 1e-3
    with pytest.raises(ValueError, match="at least two"):
        transforms.in_vs_bn(F[:1])


# -------------------------------------------------------------------- WCT


def test_wct_output_covariance_and_mean_equal_the_style_full_rank():
    content, style = correlated(6, 2000, seed=7), correlated(6, 1500, seed=8) * 2
    out = transforms.wct(content, style, eps=1e-12)
    np.testing.assert_allclose(cov_np(out), cov_np(style), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(out.mean(-1).numpy(), style.mean(-1).numpy(), atol=1e-9)


def test_wct_matches_the_closed_form_with_eps_and_svd():
    content, style = correlated(5, 300, seed=9), correlated(5, 200, seed=10)
    eps = 1e-2
    Sc, Ss = cov_np(content), cov_np(style)
    A = np.real(scipy.linalg.sqrtm(Ss)) @ np.linalg.inv(np.real(scipy.linalg.sqrtm(Sc + eps * np.eye(5))))
    mc, ms = content.numpy().mean(1, keepdims=True), style.numpy().mean(1, keepdims=True)
    expected = A @ (content.numpy() - mc) + ms
    np.testing.assert_allclose(
        transforms.wct(content, style, eps=eps).numpy(), expected, rtol=1e-7, atol=1e-9
    )
    np.testing.assert_allclose(
        transforms.wct(content, style, eps=eps, method="svd").numpy(), expected, rtol=1e-7, atol=1e-9
    )


def test_whiten_then_color_is_wct_and_whitening_gives_identity_covariance():
    content, style = correlated(4, 500, seed=11), correlated(4, 400, seed=12)
    Z = transforms.whiten(content, eps=1e-12)
    np.testing.assert_allclose(cov_np(Z), np.eye(4), atol=1e-8)
    torch.testing.assert_close(transforms.coloring(Z, style), transforms.wct(content, style, eps=1e-12))


def test_wct_with_fewer_positions_than_channels_matches_style_on_the_kept_subspace():
    C, N = 12, 5
    content, style = correlated(C, N, seed=13), correlated(C, 400, seed=14)
    out = transforms.wct(content, style, eps=1e-12)
    assert torch.isfinite(out).all()
    U, s, _ = np.linalg.svd(content.numpy() - content.numpy().mean(1, keepdims=True))
    U = U[:, : N - 1]  # the centred content spans N - 1 directions
    P = U @ U.T
    S_out, Ss = cov_np(out), cov_np(style)
    np.testing.assert_allclose(S_out, P @ Ss @ P, atol=1e-8)  # equal to the style covariance on the subspace
    np.testing.assert_allclose(U.T @ S_out @ U, U.T @ Ss @ U, atol=1e-8)
    centred = out.numpy() - out.numpy().mean(1, keepdims=True)
    np.testing.assert_allclose((np.eye(C) - P) @ centred, 0, atol=1e-8)  # and the output stays in it
    torch.testing.assert_close(transforms.coloring(transforms.whiten(content, 1e-12), style), out)


def test_wct_with_a_rank_deficient_style_reproduces_its_covariance():
    content, style = correlated(8, 1000, seed=15), correlated(8, 4, seed=16)  # style rank 3
    out = transforms.wct(content, style, eps=1e-12)
    np.testing.assert_allclose(cov_np(out), cov_np(style), atol=1e-7)


def test_wct_float32_batched_maps_keep_dtype_and_match_float64():
    content, style = (
        correlated(6, 400, seed=17).reshape(1, 6, 20, 20),
        correlated(6, 100, seed=18).reshape(1, 6, 10, 10),
    )
    c2 = torch.cat([content, 2 * content]).float()
    out32 = transforms.wct(c2, style.float())
    assert out32.dtype == torch.float32 and out32.shape == (2, 6, 20, 20)
    out64 = transforms.wct(content, style)
    torch.testing.assert_close(out32[:1].double(), out64, rtol=1e-3, atol=1e-3)
    # each sample of the batch is whitened with its own covariance: 2x content gives the same output
    torch.testing.assert_close(out32[0], out32[1], rtol=1e-3, atol=1e-3)


def test_wct_alpha_and_constant_content():
    content, style = correlated(3, 50, seed=19), correlated(3, 60, seed=20)
    full = transforms.wct(content, style)
    torch.testing.assert_close(transforms.wct(content, style, alpha=0.25), 0.25 * full + 0.75 * content)
    flat = torch.ones(3, 50, dtype=torch.float64)
    torch.testing.assert_close(transforms.wct(flat, style), style.mean(-1, keepdim=True).expand(3, 50))


def test_wct_errors_on_singular_covariance_without_regularization():
    content, style = correlated(6, 4, seed=21), correlated(6, 100, seed=22)
    with pytest.raises(ValueError, match="singular"):
        transforms.wct(content, style, eps=0.0, rank_tol=0)
    assert torch.isfinite(transforms.wct(content, style, eps=0.0)).all()  # truncation alone suffices
    assert torch.isfinite(transforms.wct(content, style, eps=1e-5, rank_tol=0)).all()  # eps alone suffices
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        transforms.wct(content, style, eps=-1e-5)
    with pytest.raises(ValueError, match="rank_tol"):
        transforms.wct(content, style, rank_tol=-1.0)
    with pytest.raises(ValueError, match="unknown method"):
        transforms.wct(content, style, method="qr")


# -------------------------------------------------------------------- Gaussian OT map


def test_gaussian_ot_matrix_is_the_symmetric_monge_map():
    content, style = correlated(5, 800, seed=23), correlated(5, 600, seed=24) * 1.5
    A, mu_c, mu_s = transforms.gaussian_ot_matrix(content, style)
    A = A[0].numpy()
    Sc, Ss = cov_np(content), cov_np(style)
    root = np.real(scipy.linalg.sqrtm(Sc))
    inv_root = np.linalg.inv(root)
    expected = inv_root @ np.real(scipy.linalg.sqrtm(root @ Ss @ root)) @ inv_root
    np.testing.assert_allclose(A, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(A, A.T, atol=1e-12)
    assert np.linalg.eigvalsh(A).min() > 0
    np.testing.assert_allclose(A @ Sc @ A, Ss, rtol=1e-8, atol=1e-10)
    out = transforms.gaussian_ot_map(content, style)
    np.testing.assert_allclose(cov_np(out), Ss, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(out.mean(-1).numpy(), style.mean(-1).numpy(), atol=1e-10)


def test_gaussian_ot_moves_features_least_and_by_the_bures_distance():
    """WCT and the OT map reach the same Gaussian; OT's mean squared displacement is the Bures W2^2 and
    no larger than WCT's (which uses a non-symmetric matrix)."""
    content, style = correlated(4, 500, seed=25), correlated(4, 500, seed=26)
    ot_out = transforms.gaussian_ot_map(content, style)
    wct_out = transforms.wct(content, style, eps=1e-12)
    np.testing.assert_allclose(cov_np(ot_out), cov_np(wct_out), rtol=1e-7, atol=1e-9)
    d_ot = (ot_out - content).pow(2).sum(0).mean().item()
    d_wct = (wct_out - content).pow(2).sum(0).mean().item()
    assert d_ot == pytest.approx(losses.gaussian_w2(content, style).item(), rel=1e-8)
    assert d_ot < d_wct
    A_wct = transforms.wct_matrix(content, style, eps=1e-12).A[0]
    assert (A_wct - A_wct.T).abs().max().item() > 1e-3


def test_gaussian_ot_map_singular_content_needs_eps():
    content, style = correlated(6, 3, seed=27), correlated(6, 50, seed=28)
    with pytest.raises(ValueError, match="singular"):
        transforms.gaussian_ot_map(content, style)
    assert torch.isfinite(transforms.gaussian_ot_map(content, style, eps=1e-5)).all()
    with pytest.raises(ValueError, match="eps"):
        transforms.gaussian_ot_map(content, style, eps=-1.0)


@SETTINGS
@given(
    C=st.integers(1, 8),
    N=st.integers(2, 24),
    Ns=st.integers(2, 24),
    B=st.integers(1, 2),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 1000),
)
def test_wct_and_gaussian_ot_keep_shape_and_dtype_and_stay_finite(C, N, Ns, B, dtype, seed):
    content = rand(B, C, N, 1, seed=seed, dtype=dtype)  # N < C included: singular covariances
    style = rand(1, C, 1, Ns, seed=seed + 1, dtype=dtype) * 2
    out = transforms.wct(content, style, eps=1e-9)
    assert out.shape == content.shape and out.dtype == dtype and torch.isfinite(out).all()
    # the documented kept subspace: eigenvalues above C * finfo(dtype).eps * lam_max, at most N - 1 of them
    S_s = np.atleast_2d(np.cov(style[0].flatten(1).double().numpy(), bias=True))
    for b in range(B):
        lam, E = np.linalg.eigh(np.atleast_2d(np.cov(content[b].flatten(1).double().numpy(), bias=True)))
        lam, E = lam[::-1], E[:, ::-1]
        U = E[:, (lam > C * torch.finfo(dtype).eps * lam[0]) & (np.arange(C) < N - 1)]
        S_out = np.atleast_2d(np.cov(out[b].flatten(1).double().numpy(), bias=True))
        t = (1e-3 if dtype == torch.float32 else 1e-6) * (1 + np.abs(S_s).max())
        np.testing.assert_allclose(U.T @ S_out @ U, U.T @ S_s @ U, atol=t)
    ot_out = transforms.gaussian_ot_map(content, style, eps=1e-3)
    assert ot_out.shape == content.shape and ot_out.dtype == dtype and torch.isfinite(ot_out).all()


def test_apply_map_reuses_a_precomputed_map_for_every_alpha():
    content, style = correlated(4, 80, seed=40), correlated(4, 60, seed=41)
    T = transforms.wct_matrix(content, style)
    for alpha in (0.0, 0.4, 1.0):
        torch.testing.assert_close(
            transforms.apply_map(T, content, alpha), transforms.wct(content, style, alpha)
        )
    G = transforms.gaussian_ot_matrix(content, style)
    torch.testing.assert_close(transforms.apply_map(G, content), transforms.gaussian_ot_map(content, style))
    with pytest.raises(ValueError, match="channel count mismatch"):
        transforms.apply_map(T, rand(5, 10))


def test_in_vs_bn_spreads_ignore_dead_channels():
    # a dead ReLU channel (all zeros) in one sample: IN maps it to std 0, which is not a style statistic
    F = rand(2, 3, 6, 6, seed=9) * torch.tensor([1.0, 4.0], dtype=torch.float64).view(2, 1, 1, 1)
    F[0, 1] = 0.0
    r = transforms.in_vs_bn(F)
    assert r.live.tolist() == [[True, False, True], [True, True, True]]
    assert r.in_std[0, 1].item() == 0.0 and r.in_spread.item() < 1e-3
    with pytest.raises(ValueError, match="constant"):
        transforms.in_vs_bn(torch.zeros(2, 3, 4, 4))


# ------------------------------------------------ WCT coloring when directions are dropped (N < C)


def _li_feature_wct(content: np.ndarray, style: np.ndarray, tol: float = 1e-5) -> np.ndarray:
    """Li et al.'s feature_wct (test_wct.lua of their Torch code), with population covariances: whiten with
    the content's k_c eigenpairs above tol, color with the style's k_s eigenpairs above tol, each count
    found on its own side."""
    mu_c, mu_s = content.mean(1, keepdims=True), style.mean(1, keepdims=True)
    Dc, Ds = content - mu_c, style - mu_s
    lc, Ec = np.linalg.eigh(Dc @ Dc.T / Dc.shape[1])
    ls, Es = np.linalg.eigh(Ds @ Ds.T / Ds.shape[1])
    k_c, k_s = int((lc > tol).sum()), int((ls > tol).sum())
    Ec, lc, Es, ls = Ec[:, -k_c:], lc[-k_c:], Es[:, -k_s:], ls[-k_s:]
    return (Es * np.sqrt(ls)) @ Es.T @ (Ec / np.sqrt(lc)) @ Ec.T @ Dc + mu_s


def _best_rank_k(S: np.ndarray, k: int) -> np.ndarray:
    lam, E = np.linalg.eigh(S)
    return (E[:, -k:] * lam[-k:]) @ E[:, -k:].T


@pytest.mark.parametrize(("seed", "Ns"), [(0, 40), (1, 40), (2, 9)])
def test_wct_style_subspace_is_li_et_als_truncation(seed, Ns):
    Xc, Xs = correlated(16, 6, seed), correlated(16, Ns, seed + 7)  # content rank 5; style rank 15 or 8
    out = transforms.wct(Xc, Xs, eps=0.0, subspace="style")
    np.testing.assert_allclose(out.numpy(), _li_feature_wct(Xc.numpy(), Xs.numpy()), atol=1e-8)


@pytest.mark.parametrize("N, Ns", [(6, 40), (12, 9), (30, 200)])
def test_wct_aligned_subspace_reaches_the_eckart_young_optimum(N, Ns):
    C = 24
    Xc, Xs = correlated(C, N, 3), correlated(C, Ns, 4)
    S_c, S_s = stats.covariance(Xc).numpy(), stats.covariance(Xs).numpy()
    k = min(np.linalg.matrix_rank(S_c), np.linalg.matrix_rank(S_s))
    T = transforms.wct_matrix(Xc, Xs, eps=0.0, subspace="aligned")
    A = T.A[0].numpy()
    np.testing.assert_allclose(A @ S_c @ A.T, _best_rank_k(S_s, k), atol=1e-8 * np.abs(S_s).max())
    best = np.linalg.norm(S_s - _best_rank_k(S_s, k))
    for subspace in ("content", "style"):  # every other map is at least as far from S_s (Eckart-Young)
        B = transforms.wct_matrix(Xc, Xs, eps=0.0, subspace=subspace).A[0].numpy()
        assert np.linalg.norm(S_s - B @ S_c @ B.T) >= best * (1 - 1e-9)


def test_wct_content_subspace_output_stays_in_the_content_span():
    Xc, Xs = correlated(20, 8, 5), correlated(20, 100, 6)
    out = transforms.wct(Xc, Xs, eps=0.0)  # the default: subspace="content"
    Dc = (Xc - Xc.mean(1, keepdim=True)).numpy()
    P = Dc @ np.linalg.pinv(Dc)  # projector on the span of the centred content
    Do = (out - out.mean(1, keepdim=True)).numpy()
    np.testing.assert_allclose(P @ Do, Do, atol=1e-8 * np.abs(Do).max())
    S_s = stats.covariance(Xs).numpy()
    np.testing.assert_allclose(stats.covariance(out).numpy(), P @ S_s @ P, atol=1e-8 * np.abs(S_s).max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wct_subspaces_agree_at_full_rank_and_keep_dtype(dtype):
    Xc, Xs = correlated(8, 200, 1, dtype), correlated(8, 150, 2, dtype)
    outs = {s: transforms.wct(Xc, Xs, subspace=s) for s in transforms.WCT_SUBSPACES}
    for s, out in outs.items():
        assert out.dtype == dtype, s
        torch.testing.assert_close(
            out, outs["content"], atol=1e-3 if dtype == torch.float32 else 1e-9, rtol=0
        )


def test_wct_subspace_batched_equals_per_sample_and_rejects_unknown_names():
    Fc = rand(2, 10, 3, 2, seed=8)  # N = 6 < C = 10
    Fs = rand(1, 10, 5, 5, seed=9)
    for s in ("style", "aligned"):
        batched = transforms.wct(Fc, Fs, subspace=s)
        for b in range(2):
            torch.testing.assert_close(batched[b : b + 1], transforms.wct(Fc[b : b + 1], Fs, subspace=s))
    with pytest.raises(ValueError, match="subspace"):
        transforms.wct(Fc, Fs, subspace="li")
