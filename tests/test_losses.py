"""Tests of the style losses of issue 3 against POT, scipy and closed forms."""

from __future__ import annotations

import copy
import os

import numpy as np
import ot
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from seeded import correlated, rand, tensor_functions

from nstlab import losses, stats

SETTINGS = settings(
    max_examples=int(os.environ.get("NSTLAB_HYPOTHESIS_EXAMPLES", 25)), deadline=None, derandomize=True
)


# -------------------------------------------------------------------- 1-D OT


@SETTINGS
@given(
    C=st.integers(1, 4),
    nx=st.integers(1, 50),
    ny=st.integers(1, 50),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 1000),
)
def test_ot1d_matches_pot_wasserstein_1d(C, nx, ny, dtype, seed):
    X, Y = rand(C, nx, seed=seed, dtype=dtype), rand(C, ny, seed=seed + 1, dtype=dtype) * 2 + 1
    expected = sum(ot.wasserstein_1d(X[c].double().numpy(), Y[c].double().numpy(), p=2) for c in range(C))
    value = losses.ot1d(X, Y)
    assert value.dtype == dtype and value.shape == ()
    assert value.item() == pytest.approx(expected, rel=1e-4 if dtype == torch.float32 else 1e-10, abs=1e-6)


def test_ot1d_batched_maps_and_gradcheck():
    X, Y = rand(2, 3, 4, 5, seed=1), rand(2, 3, 3, 3, seed=2)
    out = losses.ot1d(X, Y)
    assert out.shape == (2,)
    assert out[1].item() == pytest.approx(losses.ot1d(X[1].flatten(1), Y[1].flatten(1)).item())
    x = rand(3, 7, seed=3).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.ot1d(a, Y[0].flatten(1)), (x,))


# -------------------------------------------------------------------- sliced


def test_sliced_w2_equals_pot_with_the_same_directions():
    X, Y = correlated(5, 60, seed=4), correlated(5, 45, seed=5)
    theta = losses.random_directions(5, 32, torch.Generator().manual_seed(7))
    pot = ot.sliced_wasserstein_distance(X.T.numpy(), Y.T.numpy(), projections=theta.T.numpy(), p=2)
    assert losses.sliced_w2(X, Y, n_projections=32, seed=7).item() == pytest.approx(pot**2, rel=1e-10)


def test_sliced_w2_agrees_with_pot_statistically_and_is_bounded_by_w2_over_c():
    X, Y = correlated(4, 300, seed=6), correlated(4, 300, seed=8) * 0.5
    ours = losses.sliced_w2(X, Y, n_projections=2000, seed=0).item()
    pot = ot.sliced_wasserstein_distance(X.T.numpy(), Y.T.numpy(), n_projections=2000, p=2, seed=1) ** 2
    assert ours == pytest.approx(pot, rel=0.05)
    assert ours <= losses.exact_w2(X, Y).item() / 4  # SW2^2 <= W2^2 / C (average a coupling over theta)


def test_sliced_w2_seeds_and_gradcheck():
    X, Y = rand(3, 20, seed=9), rand(3, 25, seed=10)
    assert losses.sliced_w2(X, Y, seed=3).item() == losses.sliced_w2(X, Y, seed=3).item()
    assert losses.sliced_w2(X, Y, seed=3).item() != losses.sliced_w2(X, Y, seed=4).item()
    x = rand(3, 6, seed=11).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.sliced_w2(a, Y, 8, seed=0), (x,))
    with pytest.raises(ValueError, match="n_projections"):
        losses.sliced_w2(X, Y, n_projections=0)


# -------------------------------------------------------------------- Gaussian W2


def bures_reference(X: np.ndarray, Y: np.ndarray) -> float:
    mx, my = X.mean(1), Y.mean(1)
    Sx, Sy = np.cov(X, bias=True), np.cov(Y, bias=True)
    rx = scipy.linalg.sqrtm(Sx)
    cross = np.real(scipy.linalg.sqrtm(rx @ Sy @ rx))
    return float(((mx - my) ** 2).sum() + np.trace(Sx + Sy - 2 * cross))


def test_gaussian_w2_matches_scipy_sqrtm():
    X, Y = correlated(6, 200, seed=12), correlated(6, 150, seed=13)
    assert losses.gaussian_w2(X, Y).item() == pytest.approx(bures_reference(X.numpy(), Y.numpy()), rel=1e-9)
    assert losses.gaussian_w2(X.float(), Y.float()).dtype == torch.float32
    assert losses.gaussian_w2(X, X).item() == pytest.approx(0.0, abs=1e-10)


def test_gaussian_w2_in_one_dimension_is_the_mean_std_loss():
    X, Y = rand(1, 50, seed=14) * 3 + 1, rand(1, 40, seed=15) * 0.5
    assert losses.gaussian_w2(X, Y).item() == pytest.approx(
        losses.mean_std_loss(X, Y, eps=0).item(), rel=1e-10
    )


def test_gaussian_w2_gradcheck_and_singular_covariances():
    Y = correlated(3, 30, seed=16)
    x = correlated(3, 8, seed=17).requires_grad_()
    assert torch.autograd.gradcheck(losses.gaussian_w2, (x, Y))
    low_rank = correlated(
        6, 3, seed=18
    ).requires_grad_()  # singular S_x: clamped eigenvalues, finite gradient
    losses.gaussian_w2(low_rank, correlated(6, 2, seed=19)).backward()
    assert torch.isfinite(low_rank.grad).all()
    assert losses.gaussian_w2(low_rank, low_rank.detach()).item() == pytest.approx(0.0, abs=1e-8)


# -------------------------------------------------------------------- exact W2


def test_exact_w2_matches_pot_emd2_with_unequal_sizes():
    X, Y = correlated(3, 40, seed=20), correlated(3, 25, seed=21)
    M = ot.dist(X.T.numpy(), Y.T.numpy())  # squared Euclidean
    expected = ot.emd2(np.full(40, 1 / 40), np.full(25, 1 / 25), M)
    assert losses.exact_w2(X, Y).item() == pytest.approx(expected, rel=1e-10)


def test_exact_w2_equal_sizes_is_an_assignment_problem():
    X, Y = correlated(4, 30, seed=22), correlated(4, 30, seed=23)
    cost = ((X.T.numpy()[:, None, :] - Y.T.numpy()[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    assert losses.exact_w2(X, Y).item() == pytest.approx(cost[rows, cols].mean(), rel=1e-10)


def test_exact_w2_is_at_least_the_gaussian_bound_and_its_gradient_is_the_plan_gradient():
    X, Y = correlated(2, 20, seed=24), correlated(2, 15, seed=25)
    assert losses.exact_w2(X, Y).item() >= losses.gaussian_w2(X, Y).item() - 1e-12  # Gelbrich's bound
    x = X.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.exact_w2(a, Y), (x,))
    batched = losses.exact_w2(rand(2, 2, 3, 3, seed=26), rand(1, 2, 4, 2, seed=27))
    assert batched.shape == (2,)


def test_exact_w2_subsampling_is_seeded():
    X, Y = rand(3, 200, seed=28), rand(3, 150, seed=29)
    a = losses.exact_w2(X, Y, max_positions=50, seed=1).item()
    assert a == losses.exact_w2(X, Y, max_positions=50, seed=1).item()
    assert a != losses.exact_w2(X, Y, max_positions=50, seed=2).item()


# -------------------------------------------------------------------- L_S and block Gram


def test_mean_std_loss_matches_numpy_and_gradcheck():
    X, Y = rand(3, 30, seed=30) * 2, rand(3, 20, seed=31) + 1
    A, B = X.numpy(), Y.numpy()
    expected = (
        (A.mean(1) - B.mean(1)) ** 2 + (np.sqrt(A.var(1) + 1e-5) - np.sqrt(B.var(1) + 1e-5)) ** 2
    ).sum()
    assert losses.mean_std_loss(X, Y).item() == pytest.approx(expected, rel=1e-12)
    x = X[:, :6].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.mean_std_loss(a, Y), (x,))


def test_block_gram_loss_is_the_gram_loss_on_the_diagonal_blocks():
    Fx, Fs = rand(1, 10, 4, 4, seed=32), rand(1, 10, 5, 3, seed=33)
    diff = (stats.gram(Fx) - stats.gram(Fs))[0]
    mask = torch.block_diag(torch.ones(4, 4), torch.ones(4, 4), torch.ones(2, 2)).bool()
    expected = (diff * mask).pow(2).sum()
    assert losses.block_gram_loss(Fx, stats.block_diag_gram(Fs, 4)).item() == pytest.approx(
        expected.item(), rel=1e-12
    )
    x = Fx[:, :, :2, :2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a: losses.block_gram_loss(a, stats.block_diag_gram(Fs, 4)), (x,))
    with pytest.raises(ValueError, match="channel count mismatch"):
        losses.block_gram_loss(rand(1, 20, 2, 2), stats.block_diag_gram(Fs, 4))


# -------------------------------------------------------------------- registry and errors


@pytest.mark.parametrize("name", sorted(losses.STYLE_LOSSES))
def test_registered_style_loss_works_as_stylize_uses_it(name):
    sl = losses.get_style_loss(name)
    Fs = rand(1, 70, 6, 7, seed=34).relu()  # 70 channels: two blocks for block_gram
    target = sl.prepare(Fs)
    zero = sl(torch.zeros_like(Fs), target)
    assert zero.shape == () and torch.isfinite(zero) and zero.item() > 0
    Fx = rand(1, 70, 5, 5, seed=35).relu().requires_grad_()  # a different number of positions
    value = sl(Fx, target, losses.make_generator(0, 5))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(Fx.grad).all() and Fx.grad.abs().sum() > 0
    assert sl(Fs, target).item() < 1e-6 * zero.item() + 1e-12  # the style matches itself
    # every loss, stochastic or not, gives the same value for the same (seed, step)
    assert sl(Fx, target, losses.make_generator(0, 5)).item() == value.item()
    float32 = sl(Fx.detach().float(), sl.prepare(Fs.float()), losses.make_generator(0, 5))
    assert float32.dtype == torch.float32 and float32.item() == pytest.approx(value.item(), rel=1e-3)


@pytest.mark.parametrize("name", ["sliced_w2", "mmd_rbf", "exact_w2"])
def test_stochastic_style_losses_draw_anew_per_step_and_hold_no_state(name):
    sl = losses.get_style_loss(name)
    assert sl.stochastic
    Fs, Fx = rand(1, 8, 40, 40, seed=36).relu(), rand(1, 8, 40, 40, seed=37).relu()  # 1600 > 1024 positions
    target = sl.prepare(Fs)
    before = copy.deepcopy(target)
    values = [sl(Fx, target, losses.make_generator(3, step)).item() for step in (1, 2, 1)]
    assert values[0] == values[2] and values[0] != values[1]  # a function of (seed, step) only
    for key in before if isinstance(before, dict) else [None]:  # calling left the target untouched
        a, b = (before, target) if key is None else (before[key], target[key])
        assert torch.equal(a, b)


def test_make_generator_depends_on_seed_and_step_only():
    draw = lambda seed, step: torch.rand(4, generator=losses.make_generator(seed, step))  # noqa: E731
    assert torch.equal(draw(0, 1), draw(0, 1))
    assert not torch.equal(draw(0, 1), draw(0, 2)) and not torch.equal(draw(0, 1), draw(1, 1))
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        losses.make_generator(-1, 0)


def test_style_loss_registry_names():
    expected = {"gram", "mmd_linear", "mmd_rbf", "mean_std", "ot1d", "sliced_w2", "gaussian_w2", "exact_w2"}
    assert expected | {"block_gram"} <= set(losses.STYLE_LOSSES)
    with pytest.raises(ValueError, match="unknown style loss"):
        losses.get_style_loss("mmd_poly3")


@pytest.mark.parametrize(
    "loss", [losses.ot1d, losses.sliced_w2, losses.gaussian_w2, losses.exact_w2, losses.mean_std_loss]
)
def test_losses_reject_bad_inputs(loss):
    X = rand(3, 10)
    with pytest.raises(ValueError, match="channel count mismatch"):
        loss(X, rand(4, 10))
    bad = X.clone()
    bad[1, 2] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        loss(bad, X)
    with pytest.raises(ValueError, match="feature matrix"):
        loss(X[0], X)


@pytest.mark.parametrize("loss", [losses.gaussian_w2, losses.mean_std_loss])
def test_losses_that_need_two_positions_say_so(loss):
    with pytest.raises(ValueError, match="at least 2 are needed"):
        loss(rand(3, 1), rand(3, 10))


def _tensors(out) -> list[torch.Tensor]:
    """The tensors of a result: a tensor, or the fields of a tuple / record."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple | list):
        return [t for item in out for t in _tensors(item)]
    return []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_inputs_stay_on_the_device():
    """Every feature function of stats, transforms and losses (the same list the bad-input test fuzzes,
    from their ``__all__``) and every registered style loss: CUDA inputs give CUDA results, equal to the
    CPU's. A function that does not take these inputs on the CPU either is left to its own tests."""
    from nstlab import artifacts

    dev = torch.device("cuda")
    X, Y = correlated(4, 50, seed=50).float(), correlated(4, 40, seed=51).float()
    for n, functions in ((1, tensor_functions(1)), (2, tensor_functions(2))):
        for name, fn in functions.items():
            try:
                cpu = fn(*(X, Y)[:n])
            except (ValueError, TypeError):
                continue
            out = fn(*(X.to(dev), Y.to(dev))[:n])
            again = _tensors(fn(*(X, Y)[:n]))
            deterministic = all(torch.equal(a, b) for a, b in zip(_tensors(cpu), again, strict=True))
            for got, expected in zip(_tensors(out), _tensors(cpu), strict=True):
                assert got.device.type == "cuda", name
                if deterministic:  # a stochastic loss draws other directions on another device
                    torch.testing.assert_close(got.cpu(), expected, rtol=1e-3, atol=1e-3, msg=name)
    signal = artifacts.transposed_conv_output(3, 2).to(dev)
    assert artifacts.checkerboard_strength(artifacts.interior(signal, 3, 2), 2) == pytest.approx(1.0)
    for name, sl in losses.STYLE_LOSSES.items():
        Fs = X.to(dev).reshape(1, 4, 5, 10).relu()
        value = sl(Y.to(dev).reshape(1, 4, 8, 5).relu(), sl.prepare(Fs))
        assert value.device.type == "cuda" and torch.isfinite(value), name


def test_block_gram_loss_names_blocks_that_are_not_a_block_stack():
    with pytest.raises(ValueError, match="blocks must be the style's"):
        losses.block_gram_loss(rand(4, 50), rand(4, 40))
