"""Exercise checks of sets 6-10: each passes the reference and a correct implementation written differently
(numpy here), names every listed mistake made by a deliberately wrong implementation, and answers a stub
with "not implemented yet"."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from nstlab import artifacts, checks, losses, transforms


def _np(x):
    return x.detach().double().numpy()


def _like(a, ref):
    return torch.from_numpy(np.ascontiguousarray(a)).to(ref.dtype)


def stub(*args):
    raise NotImplementedError()


def run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


# ---- set 6: IN and BN in numpy -------------------------------------------------------------------


def norm_np(F, eps, axes, ddof=0, outside=False):
    x = _np(F)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    return _like((x - mu) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps)), F)


IN, BN = (2, 3), (0, 2, 3)


@pytest.mark.parametrize(
    ("check", "reference", "correct", "wrong"),
    [
        (
            checks.check_instance_norm,
            transforms.instance_norm,
            lambda F, eps: norm_np(F, eps, IN),
            {
                "batch norm": lambda F, eps: norm_np(F, eps, BN),
                "missing eps": lambda F, eps: norm_np(F, 0.0, IN),
                "unbiased variance": lambda F, eps: norm_np(F, eps, IN, ddof=1),
                "outside the square root": lambda F, eps: norm_np(F, eps, IN, outside=True),
                "layer norm": lambda F, eps: norm_np(F, eps, (1, 2, 3)),
            },
        ),
        (
            checks.check_batch_norm,
            transforms.batch_norm,
            lambda F, eps: norm_np(F, eps, BN),
            {
                "instance norm": lambda F, eps: norm_np(F, eps, IN),
                "missing eps": lambda F, eps: norm_np(F, 0.0, BN),
                "unbiased variance": lambda F, eps: norm_np(F, eps, BN, ddof=1),
                "batch axis only": lambda F, eps: norm_np(F, eps, (0,)),
            },
        ),
    ],
)
def test_norm_checks(check, reference, correct, wrong, capsys):
    assert run(check, reference, capsys)[0]
    assert run(check, correct, capsys)[0]
    for name, fn in wrong.items():
        ok, out = run(check, fn, capsys)
        assert not ok and name in out, (name, out)
    ok, out = run(check, stub, capsys)
    assert not ok and "not implemented yet" in out


# ---- set 7: whitening and coloring with scipy ------------------------------------------------------


def whiten_np(F, eps, center=True, power=-0.5, reg=True):
    x = _np(F)
    mu = x.mean(1, keepdims=True)
    S = np.cov(x, bias=True)
    lam, E = np.linalg.eigh(S)
    with np.errstate(all="ignore"):  # the unregularized variant makes NaN on purpose
        w = (np.clip(lam, 0, None) + eps) ** power if reg else lam**power
        return _like((E * w) @ E.T @ (x - mu if center else x), F)


def color_np(Z, s, add_mean=True, power=0.5):
    y = _np(s)
    root = np.real(scipy.linalg.fractional_matrix_power(np.cov(y, bias=True), power))
    return _like(root @ _np(Z) + (y.mean(1, keepdims=True) if add_mean else 0), Z)


def wct_np(c, s, eps, **kw):
    color_kw = {k: kw.pop(k) for k in ("add_mean",) if k in kw}
    return color_np(whiten_np(c, eps, **kw), s, **color_kw)


def whiten_pca_np(F, tol, relative=True, center=True):
    x = _np(F)
    lam, E = np.linalg.eigh(np.cov(x, bias=True))
    keep = lam > (tol * lam.max() if relative else tol)
    E, lam = E[:, keep], lam[keep]
    with np.errstate(all="ignore"):  # the untruncated variant makes NaN on purpose
        return _like(E @ np.diag(lam**-0.5) @ E.T @ (x - x.mean(1, keepdims=True) if center else x), F)


def test_whiten_check(capsys):
    assert run(checks.check_whiten, lambda F, eps: transforms.whiten(F, eps), capsys)[0]
    assert run(checks.check_whiten, whiten_np, capsys)[0]
    wrong = {
        "not centering": lambda F, eps: whiten_np(F, eps, center=False),
        "sqrt instead of inverse sqrt": lambda F, eps: whiten_np(F, eps, power=0.5),
        "no regularization": lambda F, eps: whiten_np(F, eps, reg=False),
    }
    for name, fn in wrong.items():
        ok, out = run(checks.check_whiten, fn, capsys)
        assert not ok and name in out, (name, out)
    ok, out = run(checks.check_whiten, stub, capsys)
    assert not ok and "not implemented yet" in out


def test_color_check(capsys):
    assert run(checks.check_color, transforms.color, capsys)[0]
    assert run(checks.check_color, color_np, capsys)[0]
    for name, fn in {
        "forgot to add the style mean": lambda Z, s: color_np(Z, s, add_mean=False),
        "inverse square root instead of square root": lambda Z, s: color_np(Z, s, power=-0.5),
        "instead of its square root": lambda Z, s: color_np(Z, s, power=1.0),
    }.items():
        ok, out = run(checks.check_color, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_color, stub, capsys)[1]


def test_wct_check(capsys):
    assert run(checks.check_wct, lambda c, s, eps: transforms.wct(c, s, eps=eps, rank_tol=0), capsys)[0]
    assert run(checks.check_wct, wct_np, capsys)[0]
    for name, fn in {
        "not centering": lambda c, s, eps: wct_np(c, s, eps, center=False),
        "sqrt instead of inverse sqrt": lambda c, s, eps: wct_np(c, s, eps, power=0.5),
        "no regularization": lambda c, s, eps: wct_np(c, s, eps, reg=False),
        "forgot to add the style mean": lambda c, s, eps: wct_np(c, s, eps, add_mean=False),
    }.items():
        ok, out = run(checks.check_wct, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_wct, stub, capsys)[1]


def test_whiten_pca_check(capsys):
    assert run(checks.check_whiten_pca, lambda F, tol: transforms.whiten(F, 0.0, tol), capsys)[0]
    assert run(checks.check_whiten_pca, whiten_pca_np, capsys)[0]
    for name, fn in {
        "no truncation": lambda F, tol: whiten_pca_np(F, -1.0),
        "absolute threshold": lambda F, tol: whiten_pca_np(F, tol, relative=False),
        "not centering": lambda F, tol: whiten_pca_np(F, tol, center=False),
    }.items():
        ok, out = run(checks.check_whiten_pca, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_whiten_pca, stub, capsys)[1]


# ---- set 8: the loss hierarchy; POT and scipy as the independent references ----------------------


def msl_np(X, Y, eps, var=False, mean_only=False):
    x, y = _np(X), _np(Y)
    sx, sy = x.var(1) + eps, y.var(1) + eps
    if not var:
        sx, sy = np.sqrt(sx), np.sqrt(sy)
    return torch.tensor(((x.mean(1) - y.mean(1)) ** 2 + (0 if mean_only else (sx - sy) ** 2)).sum())


def ot1d_pot(X, Y):
    import ot

    x, y = _np(X), _np(Y)
    return torch.tensor(sum(ot.wasserstein_1d(x[c], y[c], p=2) for c in range(x.shape[0])))


def test_mean_std_loss_check(capsys):
    assert run(checks.check_mean_std_loss, losses.mean_std_loss, capsys)[0]
    assert run(checks.check_mean_std_loss, msl_np, capsys)[0]
    for name, fn in {
        "variance instead of std": lambda X, Y, eps: msl_np(X, Y, eps, var=True),
        "mean only": lambda X, Y, eps: msl_np(X, Y, eps, mean_only=True),
        "missing eps": lambda X, Y, eps: msl_np(X, Y, 0.0),
    }.items():
        ok, out = run(checks.check_mean_std_loss, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_mean_std_loss, stub, capsys)[1]


def test_ot1d_check(capsys):
    assert run(checks.check_ot1d, losses.ot1d, capsys)[0]
    assert run(checks.check_ot1d, ot1d_pot, capsys)[0]
    for name, fn in {
        "not sorting": lambda X, Y: ((X - Y) ** 2).mean(1).sum(),
        "sorting only one side": lambda X, Y: ((X.sort(1).values - Y) ** 2).mean(1).sum(),
        "square root": lambda X, Y: ot1d_pot(X, Y).sqrt(),
    }.items():
        ok, out = run(checks.check_ot1d, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_ot1d, stub, capsys)[1]


def test_equal_moments_pair_check(capsys):
    rng = np.random.default_rng(0)

    def standardize(a):
        return torch.from_numpy((a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True))

    good = lambda: (standardize(rng.normal(size=(2, 500))), standardize(rng.uniform(size=(2, 500))))  # noqa: E731
    assert run(checks.check_equal_moments_pair, good, capsys)[0]
    assert run(checks.check_equal_moments_pair, lambda: losses.equal_moments_pair(300), capsys)[0]
    X = torch.from_numpy(rng.normal(size=(2, 400)))
    ok, out = run(checks.check_equal_moments_pair, lambda: (X, 2 * X), capsys)
    assert not ok and "L_S" in out and "standardize" in out
    ok, out = run(checks.check_equal_moments_pair, lambda: (X, X.flip(1)), capsys)
    assert not ok and "same 1-D distribution" in out
    assert "not implemented yet" in run(checks.check_equal_moments_pair, stub, capsys)[1]


def test_equal_marginals_pair_check(capsys):
    a = torch.from_numpy(np.random.default_rng(1).normal(size=300))
    good = lambda: (torch.stack([a, a]), torch.stack([a, a.flip(0)]))  # noqa: E731
    assert run(checks.check_equal_marginals_pair, good, capsys)[0]
    ok, out = run(
        checks.check_equal_marginals_pair, lambda: (torch.stack([a, a]), torch.stack([a, 2 * a])), capsys
    )
    assert not ok and "L_OT" in out
    ok, out = run(checks.check_equal_marginals_pair, lambda: (torch.stack([a, a]),) * 2, capsys)
    assert not ok and "Gram matrices agree" in out
    assert "not implemented yet" in run(checks.check_equal_marginals_pair, stub, capsys)[1]


# ---- set 9: W2 versus Gram ------------------------------------------------------------------------


def whitened_np(P):
    P = P - P.mean(1, keepdims=True)
    lam, E = np.linalg.eigh(np.cov(P, bias=True))
    return torch.from_numpy(E @ np.diag(lam**-0.5) @ E.T @ P)


def test_equal_covariance_clouds_check(capsys):
    def square_vs_blob(n, seed):  # a uniform square and a Gaussian blob, both whitened
        rng = np.random.default_rng(seed)
        return whitened_np(rng.uniform(size=(2, n))), whitened_np(rng.normal(size=(2, n)))

    assert run(checks.check_equal_covariance_clouds, square_vs_blob, capsys)[0]
    assert run(checks.check_equal_covariance_clouds, losses.equal_covariance_pair, capsys)[0]

    def unwhitened(n, seed):
        X, Y = square_vs_blob(n, seed)
        return X, Y * torch.tensor([[1.0], [2.0]], dtype=Y.dtype)

    ok, out = run(checks.check_equal_covariance_clouds, unwhitened, capsys)
    assert not ok and "covariances differ" in out
    ok, out = run(checks.check_equal_covariance_clouds, lambda n, s: (square_vs_blob(n, s)[0],) * 2, capsys)
    assert not ok and "same geometry" in out
    ok, out = run(
        checks.check_equal_covariance_clouds,
        lambda n, s: (lambda X: (X, X + 1))(square_vs_blob(n, s)[0]),
        capsys,
    )
    assert not ok and "means differ" in out
    assert "not implemented yet" in run(checks.check_equal_covariance_clouds, stub, capsys)[1]


def sliced_np(X, Y, theta, normalize=True, root=False):
    t = _np(theta)
    if normalize:
        t = t / np.linalg.norm(t, axis=1, keepdims=True)
    px, py = np.sort(t @ _np(X), axis=1), np.sort(t @ _np(Y), axis=1)
    value = ((px - py) ** 2).mean()
    return torch.tensor(np.sqrt(value) if root else value)


def test_sliced_w2_check(capsys):
    assert run(checks.check_sliced_w2, sliced_np, capsys)[0]

    # the library's estimator with the same directions: POT's sliced distance is sqrt(SW2^2)
    def pot_like(X, Y, theta):
        T = theta.double() / theta.double().norm(dim=1, keepdim=True)
        return losses.ot1d(T.to(X.dtype) @ X, T.to(X.dtype) @ Y) / T.shape[0]

    assert run(checks.check_sliced_w2, pot_like, capsys)[0]
    for name, fn in {
        "not normalized to unit length": lambda X, Y, t: sliced_np(X, Y, t, normalize=False),
        "W2 instead of W2^2": lambda X, Y, t: sliced_np(X, Y, t, root=True),
    }.items():
        ok, out = run(checks.check_sliced_w2, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_sliced_w2, stub, capsys)[1]


def test_sliced_reference_matches_pot():
    """The check's reference, with 2000 unit directions, agrees with POT's Monte Carlo sliced W2."""
    import ot

    X, Y = losses.equal_covariance_pair(300, seed=3)
    theta = losses.random_directions(2, 2000, torch.Generator().manual_seed(0))
    ours = float(sliced_np(X, Y, theta))
    pot = ot.sliced_wasserstein_distance(_np(X).T, _np(Y).T, n_projections=2000, p=2, seed=0) ** 2
    assert ours == pytest.approx(pot, rel=0.1)


# ---- set 10: checkerboard ------------------------------------------------------------------------


def overlap_loops(k, s, n_in, step=None):
    out = np.zeros((n_in - 1) * (step or s) + k, dtype=np.int64)
    for i in range(n_in):
        for t in range(k):
            out[i * (step or s) + t] += 1
    return torch.from_numpy(out)


def test_overlap_pattern_check(capsys):
    assert run(checks.check_overlap_pattern, artifacts.overlap_pattern, capsys)[0]
    assert run(checks.check_overlap_pattern, overlap_loops, capsys)[0]
    ok, out = run(checks.check_overlap_pattern, lambda k, s, n: overlap_loops(k, s, n, step=k), capsys)
    assert not ok and "period k instead of s" in out
    assert "not implemented yet" in run(checks.check_overlap_pattern, stub, capsys)[1]


def test_artifact_frequency_check(capsys):
    assert run(checks.check_artifact_frequency, lambda k, s: 0.0 if k % s == 0 else 1.0 / s, capsys)[0]
    ok, out = run(checks.check_artifact_frequency, lambda k, s: 1.0 / k, capsys)
    assert not ok and "frequency 1/k" in out
    ok, out = run(checks.check_artifact_frequency, lambda k, s: 1.0 / s, capsys)
    assert not ok and "s divides k" in out
    assert "not implemented yet" in run(checks.check_artifact_frequency, stub, capsys)[1]


def dominant_np(x, remove_mean=True, index=False):
    a = _np(x)
    mag = np.abs(np.fft.rfft(a - a.mean() if remove_mean else a))
    if remove_mean and mag[1:].max() < 1e-9 * (np.abs(a).sum() + 1e-300):
        return 0.0
    k = int(np.argmax(mag[1:]) + 1) if remove_mean else int(np.argmax(mag))
    return float(k if index else k / len(a))


def test_dominant_frequency_check(capsys):
    assert run(checks.check_dominant_frequency, artifacts.dominant_frequency, capsys)[0]
    assert run(checks.check_dominant_frequency, dominant_np, capsys)[0]
    ok, out = run(checks.check_dominant_frequency, lambda x: dominant_np(x, remove_mean=False), capsys)
    assert not ok and "remove the mean" in out
    ok, out = run(checks.check_dominant_frequency, lambda x: dominant_np(x, index=True), capsys)
    assert not ok and "bin index" in out
    assert "not implemented yet" in run(checks.check_dominant_frequency, stub, capsys)[1]


def resize_np(x, kernel, s, zeros=False, pad="edge", flip=False):
    a, w = _np(x), _np(kernel)
    k = len(w)
    if zeros:
        up = np.zeros(len(a) * s)
        up[::s] = a
    else:
        up = np.repeat(a, s)
    padded = np.pad(up, ((k - 1) // 2, k // 2), mode=pad)
    return torch.from_numpy(np.convolve(padded, w if flip else w[::-1], mode="valid"))


def test_resize_conv_check(capsys):
    assert run(checks.check_resize_conv, resize_np, capsys)[0]
    for name, fn in {
        "transposed convolution": lambda x, w, s: resize_np(x, w, s, zeros=True),
        "zero padding": lambda x, w, s: resize_np(x, w, s, pad="constant"),
        "flipped kernel": lambda x, w, s: resize_np(x, w, s, flip=True),
    }.items():
        ok, out = run(checks.check_resize_conv, fn, capsys)
        assert not ok and name in out, (name, out)
    assert "not implemented yet" in run(checks.check_resize_conv, stub, capsys)[1]


def test_resize_conv_reference_is_the_library_on_constants():
    """On a constant input the numpy resize-convolution equals nstlab.artifacts.resize_conv_output."""
    w = torch.randn(5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = resize_np(torch.ones(9, dtype=torch.float64), w, 3)
    lib = artifacts.resize_conv_output(5, 3, 9, 1, w)
    assert torch.allclose(ours, lib)
    assert torch.allclose(ours, w.sum().expand_as(ours))
