"""Checks of set 09 (W2 versus Gram: equal-covariance clouds, sliced W2): each passes a correct
implementation with numpy, names every listed mistake, and the sliced reference agrees with POT."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from check_harness import run

from nstlab import checks, counterexamples, losses


def _np(x):
    return x.detach().double().numpy()


def whitened_np(P):
    P = P - P.mean(1, keepdims=True)
    lam, E = np.linalg.eigh(np.cov(P, bias=True))
    return torch.from_numpy(E @ np.diag(lam**-0.5) @ E.T @ P)


def test_equal_covariance_clouds_check(capsys):
    def square_vs_blob(n, seed):  # a uniform square and a Gaussian blob, both whitened
        rng = np.random.default_rng(seed)
        return whitened_np(rng.uniform(size=(2, n))), whitened_np(rng.normal(size=(2, n)))

    assert run(checks.check_equal_covariance_clouds, square_vs_blob, capsys)[0]
    assert run(checks.check_equal_covariance_clouds, counterexamples.equal_covariance_pair, capsys)[0]

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


def test_sliced_reference_matches_pot():
    """The check's reference, with 2000 unit directions, agrees with POT's Monte Carlo sliced W2."""
    import ot

    X, Y = counterexamples.equal_covariance_pair(300, seed=3)
    theta = losses.random_directions(2, 2000, torch.Generator().manual_seed(0))
    ours = float(sliced_np(X, Y, theta))
    pot = ot.sliced_wasserstein_distance(_np(X).T, _np(Y).T, n_projections=2000, p=2, seed=0) ** 2
    assert ours == pytest.approx(pot, rel=0.1)
