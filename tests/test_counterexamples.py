"""The counterexamples of the hierarchy of style losses: on each pair, the losses its docstring says are 0
are 0 up to rounding, and the others are clearly positive."""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest

from nstlab import counterexamples, losses, stats


def test_equal_moments_pair_fools_l_s_but_not_l_ot():
    X, Y = counterexamples.equal_moments_pair(n=800, channels=3, seed=0)
    values = counterexamples.style_loss_values(X, Y)
    assert values["mean_std"] < 1e-20
    assert values["ot1d"] > 0.1 and values["exact_w2"] > 0.1
    np.testing.assert_allclose(X.numpy().std(1), 1.0)
    np.testing.assert_allclose(Y.numpy().mean(1), 0.0, atol=1e-12)


def test_equal_covariance_pair_fools_gram_and_bures_but_not_exact_w2():
    X, Y = counterexamples.equal_covariance_pair(n=600, seed=1)
    values = counterexamples.style_loss_values(X, Y)
    assert set(values) == {"mean_std", "ot1d", "gram", "mmd_rbf", "gaussian_w2", "sliced_w2", "exact_w2"}
    assert values["gram"] < 1e-20 and values["mean_std"] < 1e-20 and values["gaussian_w2"] < 1e-10
    assert stats.mmd2(X, Y, "poly2").item() < 1e-20
    assert values["exact_w2"] > 0.1 and values["sliced_w2"] > 0.01 and values["mmd_rbf"] > 1e-3
    np.testing.assert_allclose(np.cov(Y.numpy(), bias=True), np.eye(2), atol=1e-12)


def test_equal_marginals_pair_fools_mean_std_and_1d_ot_but_not_gram():
    X, Y = counterexamples.equal_marginals_pair(n=500, seed=3)
    x, y = X.numpy(), Y.numpy()
    np.testing.assert_array_equal(np.sort(x, axis=1), np.sort(y, axis=1))  # same values per channel
    for c in range(2):
        assert ot.wasserstein_1d(x[c], y[c], p=2) < 1e-20
    assert float(losses.ot1d(X, Y)) < 1e-20
    assert float(losses.mean_std_loss(X, Y, eps=0.0)) < 1e-20
    assert abs(np.corrcoef(x)[0, 1]) < 0.2 and np.corrcoef(y)[0, 1] > 0.9
    gram_gap = ((x @ x.T - y @ y.T) / x.shape[1]) ** 2
    assert gram_gap.sum() > 1.0


def test_equal_marginals_and_covariance_pair_leaves_only_the_joint_geometry():
    X, Y = counterexamples.equal_marginals_and_covariance_pair(n=400, seed=1)
    x, y = X.numpy(), Y.numpy()
    assert x.shape == y.shape == (2, 400)
    np.testing.assert_array_equal(np.sort(x, axis=1), np.sort(y, axis=1))
    np.testing.assert_allclose(x.mean(1), 0, atol=1e-13)
    np.testing.assert_allclose(np.cov(x, bias=True), np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.cov(y, bias=True), np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.abs(y[0]), np.abs(y[1]))  # Y lies on the two diagonals
    a = np.full(400, 1 / 400)
    w2 = ot.emd2(a, a, ot.dist(x.T, y.T))  # squared Euclidean cost
    assert w2 > 0.1
    np.testing.assert_allclose(float(losses.exact_w2(X, Y)), w2, rtol=1e-9)
    for name in ("mean_std", "ot1d", "gram", "gaussian_w2"):
        assert counterexamples.style_loss_values(X, Y)[name] < 1e-12, name


@pytest.mark.parametrize("n", [0, 3, 6])
def test_equal_marginals_and_covariance_pair_needs_multiples_of_four(n):
    with pytest.raises(ValueError, match="multiple of 4"):
        counterexamples.equal_marginals_and_covariance_pair(n=n)


def test_equal_gram_pair_fools_the_uncentred_gram_loss_but_not_l_s():
    """Closed forms: constant 1 against +-1. Gram 1 = 1; L_S = (1 - 0)^2 + (0 - 1)^2 = 2; every 1-D transport
    moves half the mass from 1 to -1, cost (1/2) 2^2 = 2; the Gaussian W2 is |dmu|^2 + (sd_x - sd_y)^2 = 2;
    rbf MMD^2 with sigma = 1 (median distance 0 falls back to 1) is 1/2 - e^{-2}/2."""
    X, Y = counterexamples.equal_gram_pair(n=500)
    values = counterexamples.style_loss_values(X, Y)
    assert values["gram"] == 0.0
    for key in ("mean_std", "ot1d", "gaussian_w2", "exact_w2", "sliced_w2"):
        assert values[key] == pytest.approx(2.0, abs=1e-9), key
    assert values["mmd_rbf"] == pytest.approx(0.5 - 0.5 * math.exp(-2), abs=1e-12)
    with pytest.raises(ValueError, match="even"):
        counterexamples.equal_gram_pair(n=7)
