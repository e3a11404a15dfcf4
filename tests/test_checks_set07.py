"""Checks of set 07 (whitening and coloring, WCT): each passes nstlab's reference and a correct
implementation with numpy and scipy, and names every listed mistake made by a deliberately wrong one."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from check_harness import run

from nstlab import checks, transforms


def _np(x):
    return x.detach().double().numpy()


def _like(a, ref):
    return torch.from_numpy(np.ascontiguousarray(a)).to(ref.dtype)


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


def test_color_check(capsys):
    assert run(checks.check_color, transforms.coloring, capsys)[0]
    assert run(checks.check_color, color_np, capsys)[0]
    for name, fn in {
        "forgot to add the style mean": lambda Z, s: color_np(Z, s, add_mean=False),
        "inverse square root instead of square root": lambda Z, s: color_np(Z, s, power=-0.5),
        "instead of its square root": lambda Z, s: color_np(Z, s, power=1.0),
    }.items():
        ok, out = run(checks.check_color, fn, capsys)
        assert not ok and name in out, (name, out)


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
