"""Tests of nstlab.stats against numpy loops, closed forms and scipy."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seeded import rand

from nstlab import stats

SETTINGS = settings(
    max_examples=int(os.environ.get("NSTLAB_HYPOTHESIS_EXAMPLES", 25)), deadline=None, derandomize=True
)
DTYPES = st.sampled_from([torch.float32, torch.float64])


def tol(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float32 else 1e-10


# -------------------------------------------------------------------- Gram


def test_gram_matches_numpy_loops_for_every_normalization():
    F = rand(3, 7)
    A = F.numpy()
    C, N = A.shape
    loop = np.array([[sum(A[i, n] * A[j, n] for n in range(N)) for j in range(C)] for i in range(C)])
    for normalize, Z in [("n", N), ("cn", C * N), ("none", 1)]:
        np.testing.assert_allclose(stats.gram(F, normalize).numpy(), loop / Z, rtol=1e-12)


def test_block_diag_gram_equals_diagonal_blocks_of_gram_with_a_smaller_last_block():
    F = rand(2, 10, 3, 4)  # C = 10, block size 4: blocks of 4, 4, 2 (padded)
    G = stats.gram(F, "cn")
    blocks = stats.block_diag_gram(F, 4, "cn")
    assert blocks.shape == (2, 3, 4, 4)
    for k, (lo, hi) in enumerate([(0, 4), (4, 8), (8, 10)]):
        size = hi - lo
        torch.testing.assert_close(blocks[:, k, :size, :size], G[:, lo:hi, lo:hi])
    assert torch.all(blocks[:, 2, 2:, :] == 0) and torch.all(blocks[:, 2, :, 2:] == 0)
    dense = stats.block_diag_to_dense(blocks, C=10)
    mask = torch.block_diag(torch.ones(4, 4), torch.ones(4, 4), torch.ones(2, 2)).bool()
    torch.testing.assert_close(dense, G * mask)


def test_gram_memory_bytes_closed_forms():
    assert stats.gram_memory_bytes(512) == 512 * 512 * 4
    assert stats.gram_memory_bytes(512, dtype=torch.float64) == 512 * 512 * 8
    assert stats.gram_memory_bytes(512, 64) == 8 * 64 * 64 * 4
    assert stats.gram_memory_bytes(100, 64) == 2 * 64 * 64 * 4  # last block padded
    blocks = stats.block_diag_gram(rand(100, 5, dtype=torch.float32), 64)
    assert blocks.numel() * blocks.element_size() == stats.gram_memory_bytes(100, 64)


def test_block_diag_error_limits_and_nesting():
    F = rand(8, 50)
    G = (F @ F.T).numpy()
    off = G - np.diag(np.diag(G))
    err = stats.block_diag_error(F, [1, 2, 4, 8, 16])
    assert err[0].item() == pytest.approx(np.linalg.norm(off) / np.linalg.norm(G), rel=1e-12)
    assert err[3].item() == 0 and err[4].item() == 0
    assert torch.all(err[:-1] >= err[1:])  # blocks of 2 | 4 | 8 nest: dropping fewer entries


def test_block_diag_gram_rejects_bad_block_size():
    with pytest.raises(ValueError, match="block_size"):
        stats.block_diag_gram(rand(4, 5), 0)


# -------------------------------------------------------------------- MMD


def mmd2_loop(X: np.ndarray, Y: np.ndarray, k) -> float:
    nx, ny = X.shape[1], Y.shape[1]
    kxx = sum(k(X[:, i], X[:, j]) for i in range(nx) for j in range(nx)) / nx**2
    kyy = sum(k(Y[:, i], Y[:, j]) for i in range(ny) for j in range(ny)) / ny**2
    kxy = sum(k(X[:, i], Y[:, j]) for i in range(nx) for j in range(ny)) / (nx * ny)
    return kxx + kyy - 2 * kxy


@pytest.mark.parametrize("kernel", ["poly2", "linear", "rbf"])
def test_mmd2_matches_numpy_double_loop(kernel):
    X, Y = rand(3, 9, seed=1), rand(3, 6, seed=2) + 0.5
    kernels = {
        "poly2": lambda a, b: float(a @ b) ** 2,
        "linear": lambda a, b: float(a @ b),
        "rbf": lambda a, b: math.exp(-float((a - b) @ (a - b)) / (2 * 1.3**2)),
    }
    kw = {"sigma": 1.3} if kernel == "rbf" else {}
    expected = mmd2_loop(X.numpy(), Y.numpy(), kernels[kernel])
    assert stats.mmd2(X, Y, kernel, **kw).item() == pytest.approx(expected, rel=1e-10)


@SETTINGS
@given(
    C=st.integers(1, 6), nx=st.integers(1, 40), ny=st.integers(1, 40), dtype=DTYPES, seed=st.integers(0, 99)
)
def test_gram_mmd_identity(C, nx, ny, dtype, seed):
    X, Y = rand(C, nx, seed=seed, dtype=dtype), rand(C, ny, seed=seed + 1, dtype=dtype) * 2
    lhs = (stats.gram(X) - stats.gram(Y)).pow(2).sum()
    rhs = stats.mmd2(X, Y, "poly2")
    assert rhs.dtype == dtype
    scale = (stats.gram(X).pow(2).sum() + stats.gram(Y).pow(2).sum()).item()
    assert abs(lhs.item() - rhs.item()) <= tol(dtype) * scale


def test_mmd2_rbf_default_bandwidth_is_the_pooled_median_distance():
    X, Y = rand(2, 30, seed=3), rand(2, 20, seed=4)
    Z = torch.cat([X, Y], dim=1).numpy().T
    d = [np.linalg.norm(Z[i] - Z[j]) for i in range(len(Z)) for j in range(i + 1, len(Z))]
    sigma = float(np.median(d))
    assert stats.mmd2(X, Y, "rbf").item() == pytest.approx(
        stats.mmd2(X, Y, "rbf", sigma=sigma).item(), rel=1e-12
    )


def test_mmd2_batched_maps_give_one_value_per_sample_and_zero_on_equal_inputs():
    X, Y = rand(3, 4, 5, 6, seed=5), rand(3, 4, 3, 3, seed=6)
    out = stats.mmd2(X, Y, "rbf", sigma=2.0)
    assert out.shape == (3,)
    for b in range(3):
        assert out[b].item() == pytest.approx(
            stats.mmd2(X[b].flatten(1), Y[b].flatten(1), "rbf", sigma=2.0).item()
        )
    assert stats.mmd2(X, X, "rbf").abs().max().item() < 1e-12


@pytest.mark.parametrize("kernel", ["poly2", "linear", "rbf"])
def test_mmd2_gradcheck(kernel):
    X = rand(3, 5, seed=7).requires_grad_()
    Y = rand(3, 4, seed=8)
    kw = {"sigma": 1.5} if kernel == "rbf" else {}
    assert torch.autograd.gradcheck(lambda x: stats.mmd2(x, Y, kernel, **kw), (X,))


def test_mmd2_bad_inputs():
    X = rand(3, 5)
    with pytest.raises(ValueError, match="unknown kernel"):
        stats.mmd2(X, X, "gauss")
    with pytest.raises(ValueError, match="channel count mismatch"):
        stats.mmd2(X, rand(4, 5))
    with pytest.raises(ValueError, match="sigma"):
        stats.mmd2(X, X, "poly2", sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        stats.mmd2(X, X, "rbf", sigma=0.0)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        stats.mmd2(bad, X)


def test_gram_rejects_unknown_normalization():
    with pytest.raises(ValueError, match="unknown normalize"):
        stats.gram(rand(2, 3), "c")


# -------------------------------------------------------------------- shrinkage


def test_shrink_targets():
    G = rand(4, 10)
    G = G @ G.T / 10
    eye = torch.eye(4, dtype=G.dtype)
    torch.testing.assert_close(stats.shrink(G, 0.25), 0.75 * G + 0.25 * eye)
    scaled = torch.trace(G) / 4 * eye
    torch.testing.assert_close(stats.shrink(G, 0.5, "scaled_identity"), 0.5 * G + 0.5 * scaled)
    T = torch.diag(torch.diag(G))
    torch.testing.assert_close(stats.shrink(G, 1.0, T), T)
    torch.testing.assert_close(stats.shrink(G, 0.0), G)


@pytest.mark.parametrize("lam", [-0.1, 1.5, float("nan")])
def test_shrink_rejects_lambda_outside_unit_interval(lam):
    with pytest.raises(ValueError, match=r"lam must lie in \[0, 1\]"):
        stats.shrink(torch.eye(3), lam)


def test_shrink_rejects_unknown_target_and_non_square():
    with pytest.raises(ValueError, match="unknown target"):
        stats.shrink(torch.eye(3), 0.1, "diagonal")
    with pytest.raises(ValueError, match="square"):
        stats.shrink(torch.ones(3, 4), 0.1)


def ledoit_wolf_reference(X: np.ndarray) -> float:
    """The formulas of Ledoit & Wolf (2004), Lemmas 3.2-3.4, written out with loops (rows = variables)."""
    p, n = X.shape
    Xc = X - X.mean(axis=1, keepdims=True)
    S = Xc @ Xc.T / n

    def norm2(A):
        return np.trace(A @ A.T) / p

    m = np.trace(S) / p
    d2 = norm2(S - m * np.eye(p))
    b2_bar = sum(norm2(np.outer(x, x) - S) for x in Xc.T) / n**2
    return min(b2_bar, d2) / d2


@pytest.mark.parametrize("C,N,seed", [(5, 8, 0), (10, 40, 1), (3, 200, 2)])
def test_ledoit_wolf_matches_the_paper_formula(C, N, seed):
    scales = torch.linspace(0.5, 3.0, C, dtype=torch.float64)[:, None]
    F = rand(C, N, seed=seed) * scales
    assert stats.ledoit_wolf(F).item() == pytest.approx(ledoit_wolf_reference(F.numpy()), rel=1e-10)


def test_ledoit_wolf_limits():
    iso = rand(20, 10, seed=3)  # true covariance is a multiple of I: the target is right, shrink a lot
    assert stats.ledoit_wolf(iso).item() > 0.5
    aniso = rand(4, 5000, seed=4) * torch.tensor([[0.1], [1.0], [3.0], [10.0]], dtype=torch.float64)
    assert stats.ledoit_wolf(aniso).item() < 0.01  # plenty of data, far from spherical: no shrinkage
    assert stats.ledoit_wolf(rand(2, 3, 4, 4)).shape == (2,)
    with pytest.raises(ValueError, match="at least 2"):
        stats.ledoit_wolf(rand(3, 1))


def test_gram_entry_variance_follows_the_closed_form_and_the_1_over_n_law():
    cov = torch.tensor([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]], dtype=torch.float64)
    Ns = [8, 32, 128]
    var = stats.gram_entry_variance(3, Ns, n_trials=3000, seed=0, cov=cov)
    S = cov.numpy()
    for i, N in enumerate(Ns):
        closed = (np.outer(np.diag(S), np.diag(S)) + S**2) / N  # Isserlis, written independently
        np.testing.assert_allclose(var[i].numpy(), closed, rtol=0.12)
    np.testing.assert_allclose(
        stats.gram_entry_variance_theory(cov, 8).numpy(), (np.outer(np.diag(S), np.diag(S)) + S**2) / 8
    )
    slope = np.polyfit(np.log(Ns), np.log(var[:, 0, 0].numpy()), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)


def test_shrinkage_mse_matches_the_bias_variance_parabola():
    C, N = 4, 8
    cov = torch.diag(torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64))
    lams = torch.linspace(0, 1, 21, dtype=torch.float64)
    curve = stats.shrinkage_mse(cov, N, lams, n_trials=2000, seed=1)
    S = cov.numpy()
    variance = ((np.outer(np.diag(S), np.diag(S)) + S**2) / N).sum()  # E ||G - S||_F^2
    bias = ((np.eye(C) - S) ** 2).sum()  # ||I - S||_F^2
    parabola = (1 - lams.numpy()) ** 2 * variance + lams.numpy() ** 2 * bias
    np.testing.assert_allclose(curve.mse.numpy(), parabola, rtol=0.1)
    assert curve.best_lam == pytest.approx(variance / (variance + bias), abs=0.1)
    assert 0 <= curve.ledoit_wolf_lam <= 1


def test_ledoit_wolf_estimates_the_optimal_intensity_toward_scaled_identity():
    cov = torch.diag(torch.linspace(0.5, 2.0, 10, dtype=torch.float64))
    lams = torch.linspace(0, 1, 41, dtype=torch.float64)
    curve = stats.shrinkage_mse(cov, 20, lams, n_trials=300, seed=2, target="scaled_identity")
    assert curve.ledoit_wolf_lam == pytest.approx(curve.best_lam, abs=0.15)


# -------------------------------------------------------------------- moments


@SETTINGS
@given(B=st.integers(1, 3), C=st.integers(1, 4), H=st.integers(1, 5), W=st.integers(2, 5), dtype=DTYPES)
def test_mean_std_matches_numpy_population_std(B, C, H, W, dtype):
    F = rand(B, C, H, W, seed=B * 100 + C, dtype=dtype) * 3 + 1
    mu, sd = stats.mean_std(F, eps=1e-3)
    assert mu.shape == (B, C) and sd.dtype == dtype
    A = F.double().numpy().reshape(B, C, -1)
    np.testing.assert_allclose(mu.double().numpy(), A.mean(-1), rtol=tol(dtype), atol=tol(dtype))
    np.testing.assert_allclose(sd.double().numpy(), np.sqrt(A.var(-1) + 1e-3), rtol=tol(dtype))


def test_mean_std_bad_inputs():
    with pytest.raises(ValueError, match="at least 2"):
        stats.mean_std(rand(3, 1))
    with pytest.raises(ValueError, match="eps"):
        stats.mean_std(rand(3, 4), eps=-1.0)
    with pytest.raises(ValueError, match="must be a \\(C, N\\)"):
        stats.mean_std(rand(3))


# -------------------------------------------------------------------- entropy


@pytest.mark.parametrize("std", [0.3, 1.0, 5.0])
def test_histogram_entropy_of_a_big_gaussian_sample_matches_the_closed_form(std):
    x = rand(200_000, seed=11) * std + 2.0
    assert stats.entropy(x).item() == pytest.approx(0.5 * math.log(2 * math.pi * math.e * std**2), abs=0.01)


def test_histogram_entropy_of_a_uniform_sample_is_log_width():
    x = torch.rand(100_000, generator=torch.Generator().manual_seed(12), dtype=torch.float64) * 4 - 1
    assert stats.entropy(x, bins="scott").item() == pytest.approx(math.log(4.0), abs=0.01)


def test_gaussian_entropy_matches_scipy():
    for s in [0.1, 1.0, 7.0]:
        assert stats.gaussian_entropy(s).item() == pytest.approx(
            scipy.stats.norm(scale=s).entropy(), rel=1e-6
        )
    with pytest.raises(ValueError, match=">= 0"):
        stats.gaussian_entropy(-1.0)


@pytest.mark.parametrize("bins", [None, "fd", "scott", 30])
@pytest.mark.parametrize("a,b", [(0.01, 3.0), (7.5, -2.0), (1e3, 0.0)])
def test_entropy_estimator_is_affine_equivariant(bins, a, b):
    x = rand(5000, seed=13).pow(3)  # skewed, heavy-ish tails
    assert stats.entropy(a * x + b, bins).item() == pytest.approx(
        stats.entropy(x, bins).item() + math.log(a), abs=1e-9
    )


def test_entropy_per_channel_shapes_and_constant_channel():
    F = rand(2, 3, 8, 8, seed=14)
    F[1, 2] = 4.0
    H = stats.entropy(F)
    assert H.shape == (2, 3)
    assert H[1, 2].item() == -math.inf
    assert stats.entropy(F[0].flatten(1)).shape == (3,)
    torch.testing.assert_close(stats.entropy(F[0].flatten(1)), H[0])
    with pytest.raises(ValueError, match="unknown bins"):
        stats.entropy(F, bins="sturges")


def test_shrinkage_mse_with_a_non_gaussian_sampler():
    """Rademacher features: S = I, Var(f_a f_b) = 1 off the diagonal and 0 on it, so with T = I the MSE is
    (1 - lam)^2 C (C - 1) / N exactly in expectation."""
    C, N = 3, 10

    def sampler(n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.randint(0, 2, (C, n), generator=gen).double() * 2 - 1

    lams = torch.tensor([0.0, 0.5, 0.9], dtype=torch.float64)
    curve = stats.shrinkage_mse(
        torch.eye(C, dtype=torch.float64), N, lams, n_trials=4000, seed=3, sampler=sampler
    )
    np.testing.assert_allclose(curve.mse.numpy(), (1 - lams.numpy()) ** 2 * C * (C - 1) / N, rtol=0.05)
    assert curve.best_lam == 0.9


# -------------------------------------------------------------------- resampling real positions


def test_position_sampler_draws_columns_of_the_feature_map():
    F = rand(4, 30, seed=21)
    sampler = stats.position_sampler(F)
    draw = sampler(500, torch.Generator().manual_seed(0))
    assert draw.shape == (4, 500)
    cols = {tuple(np.round(c, 12)) for c in F.numpy().T}
    assert all(tuple(np.round(c, 12)) in cols for c in draw.numpy().T)
    # a (1, C, H, W) map is the same population
    same = stats.position_sampler(F.reshape(1, 4, 5, 6))(500, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same, draw)
    with pytest.raises(ValueError, match="one feature map"):
        stats.position_sampler(rand(2, 4, 5, 6))


def test_resampled_gram_variance_matches_a_numpy_formula_and_monte_carlo():
    F = rand(3, 40, seed=22).abs()  # nonnegative like ReLU features
    A = F.numpy()
    N = 12
    prod = A[:, None, :] * A[None, :, :]  # (C, C, N_F) products f_a f_b at every position
    closed = prod.var(axis=-1) / N  # population variance of the product over positions, / N
    np.testing.assert_allclose(stats.resampled_gram_variance(F, N).numpy(), closed, rtol=1e-12)
    mc = stats.gram_entry_variance(3, [N, 4 * N], n_trials=4000, seed=1, sampler=stats.position_sampler(F))
    np.testing.assert_allclose(mc[0].numpy(), closed, rtol=0.1)
    np.testing.assert_allclose(mc[1].numpy(), closed / 4, rtol=0.1)


def test_gram_entry_variance_rejects_a_sampler_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"must return a \(3, 5\) matrix"):
        stats.gram_entry_variance(3, [5], n_trials=2, sampler=lambda n, g: torch.zeros(2, n))


def test_shrinkage_mse_equals_the_brute_force_error_of_each_lambda():
    """The quadratic expansion inside shrinkage_mse against shrinking every trial and measuring directly."""
    C, N, n_trials = 5, 7, 50
    cov = torch.diag(torch.tensor([0.3, 1.0, 2.0, 3.0, 5.0], dtype=torch.float64)) + 0.2
    lams = [0.0, 0.3, 0.7, 1.0]
    for target in (None, "scaled_identity"):
        curve = stats.shrinkage_mse(cov, N, lams, n_trials=n_trials, seed=4, target=target)
        gen = torch.Generator().manual_seed(4)  # the same draws as shrinkage_mse
        root = torch.from_numpy(scipy.linalg.sqrtm(cov.numpy()).real)
        F = root @ torch.randn(n_trials, C, N, generator=gen, dtype=torch.float64)
        for lam, mse in zip(lams, curve.mse.tolist(), strict=True):
            errors = []
            for f in F:
                G = (f @ f.T / N).numpy()
                T = np.eye(C) * (np.trace(G) / C if target else 1.0)
                errors.append((((1 - lam) * G + lam * T - cov.numpy()) ** 2).sum())
            assert mse == pytest.approx(np.mean(errors), rel=1e-9)


# -------------------------------------------------------------------- entropy on a fixed grid


@pytest.mark.parametrize("dist", ["norm", "gamma", "uniform"])
def test_fixed_grid_entropy_matches_the_closed_form(dist):
    frozen = {
        "norm": scipy.stats.norm(scale=2.0),
        "gamma": scipy.stats.gamma(a=3.0),
        "uniform": scipy.stats.uniform(scale=4.0),
    }[dist]
    x = torch.as_tensor(frozen.rvs(size=200_000, random_state=np.random.default_rng(0)))
    h = stats.entropy(x, bin_width=0.02).item()
    assert h == pytest.approx(frozen.entropy(), abs=0.01)
    assert h == pytest.approx(scipy.stats.differential_entropy(x.numpy()), abs=0.02)


def test_entropy_is_shannon_entropy_plus_log_width():
    x = torch.randn(3, 5000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = torch.tensor([0.1, 0.2, 0.05], dtype=torch.float64)
    torch.testing.assert_close(stats.entropy(x, bin_width=w), stats.shannon_entropy(x, bin_width=w) + w.log())
    for r in range(3):  # a per-channel width is the width of that row
        assert stats.entropy(x[r], bin_width=float(w[r])).item() == pytest.approx(
            stats.entropy(x, bin_width=w)[r].item()
        )
    span = x.amax(1) - x.amin(1)
    torch.testing.assert_close(
        stats.entropy(x, bins=40), stats.shannon_entropy(x, bins=40) + (span / 40).log()
    )


def test_shannon_entropy_with_bins_over_the_range_ignores_affine_maps():
    x = torch.randn(20_000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for a, b in [(6.0, 1.0), (0.1, -3.0)]:
        assert stats.shannon_entropy(a * x + b, bins=64).item() == pytest.approx(
            stats.shannon_entropy(x, bins=64).item(), abs=1e-12
        )


def test_fixed_grid_entropy_shows_log_a_only_approximately():
    x = torch.randn(200_000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for w, tol in [(0.05, 0.01), (2.0, None)]:
        change = (stats.entropy(6 * x + 1, bin_width=w) - stats.entropy(x, bin_width=w)).item()
        if tol is None:
            assert (
                abs(change - math.log(6)) > 0.1
            )  # a grid coarser than the data: not equivariant by construction
        else:
            assert change == pytest.approx(math.log(6), abs=tol)


def test_fixed_grid_entropy_change_of_a_distribution_with_an_atom():
    gen = torch.Generator().manual_seed(4)
    n, p0 = 100_000, 0.6
    x = torch.where(torch.rand(n, generator=gen) < p0, 0.0, 3.0 + torch.randn(n, generator=gen)).double()
    change = (
        stats.shannon_entropy(2 * x + 1, bin_width=0.02) - stats.shannon_entropy(x, bin_width=0.02)
    ).item()
    assert change == pytest.approx((1 - p0) * math.log(2), abs=0.01)


def test_entropy_bin_width_errors():
    x = torch.randn(2, 100, dtype=torch.float64)
    with pytest.raises(ValueError, match="not both"):
        stats.entropy(x, bins=10, bin_width=0.1)
    for bad in (0.0, -1.0, float("nan"), torch.ones(3)):
        with pytest.raises(ValueError, match="bin_width"):
            stats.shannon_entropy(x, bin_width=bad)
    assert stats.entropy(torch.ones(50, dtype=torch.float64), bin_width=0.5).item() == pytest.approx(
        math.log(0.5)
    )
