"""Checks of set 08 (the loss hierarchy: mean/std, 1-D OT and the two constructions): each passes nstlab's
reference and a correct implementation with numpy or POT, and names every listed mistake."""

from __future__ import annotations

import numpy as np
import torch
from check_harness import run

from nstlab import checks, counterexamples, losses


def _np(x):
    return x.detach().double().numpy()


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


def test_equal_moments_pair_check(capsys):
    rng = np.random.default_rng(0)

    def standardize(a):
        return torch.from_numpy((a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True))

    good = lambda: (standardize(rng.normal(size=(2, 500))), standardize(rng.uniform(size=(2, 500))))  # noqa: E731
    assert run(checks.check_equal_moments_pair, good, capsys)[0]
    assert run(checks.check_equal_moments_pair, lambda: counterexamples.equal_moments_pair(300), capsys)[0]
    X = torch.from_numpy(rng.normal(size=(2, 400)))
    ok, out = run(checks.check_equal_moments_pair, lambda: (X, 2 * X), capsys)
    assert not ok and "L_S" in out and "standardize" in out
    ok, out = run(checks.check_equal_moments_pair, lambda: (X, X.flip(1)), capsys)
    assert not ok and "same 1-D distribution" in out


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
