"""Numbers and mathematical claims that the course's prose states, each recomputed from the library.

Every test names, in its docstring, the file and section that states the claim, asserts the true statement,
and, where that is meaningful, that the false statement it replaced does not hold. Seeded, float64, a few
seconds in all. When the prose changes, change the test with it; when a test fails, the prose is wrong.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from nstlab import artifacts, counterexamples, losses, optimize, receptive, stats, transforms

# ---------------------------------------------------------------------------------------- chapter 06 (WCT)

COLORINGS = {
    "eps only": dict(eps=1e-8, rank_tol=0),
    "default": dict(subspace="content"),
    "Li et al.": dict(subspace="style"),
    "aligned": dict(subspace="aligned"),
}


def _coloring_errors(style_positions: int) -> tuple[dict[str, float], float, float]:
    """Chapter 06's random-data experiment (same generator, C = 64, N = 20) with a style of the given number
    of positions: relative Frobenius error of each coloring's output covariance to the full style
    covariance, the Eckart-Young bound, and the share of ||S_s||_F^2 in the top k = 19 eigen-directions."""
    gen = torch.Generator().manual_seed(1)
    Xc = torch.randn(64, 20, generator=gen, dtype=torch.float64)
    Xs = torch.randn(64, style_positions, generator=gen, dtype=torch.float64)
    S_c, S_s = stats.covariance(Xc), stats.covariance(Xs)
    errors = {}
    for name, kw in COLORINGS.items():
        A = transforms.wct_matrix(Xc, style=Xs, **kw).A[0]
        errors[name] = float((A @ S_c @ A.T - S_s).norm() / S_s.norm())
    lam_s = torch.linalg.eigvalsh(S_s).flip(0)
    k = 19
    bound = float(lam_s[k:].pow(2).sum().sqrt() / S_s.norm())
    share = float(lam_s[:k].pow(2).sum() / lam_s.pow(2).sum())
    return errors, bound, share


def test_order_of_the_four_colorings_and_its_gaps():
    """notebooks/06_wct.ipynb, "Going further (optional): four ways to color when N < C" (the table after
    the colorings on random data) and solutions/07_wct.ipynb (the answer on the colorings): the numbers of
    the table; Li et al.'s code colors like eps*I alone (the style has full numerical rank, or nearly);
    the default is the worst of the four on every spectrum, and the gaps close as the spectrum flattens."""
    table = {  # style positions: (top-19 share, aligned, eps only, Li et al., default)
        52: (0.90, 0.311, 0.754, 0.754, 0.895),
        500: (0.57, 0.657, 0.828, 0.828, 0.858),
        2000: (0.43, 0.753, 0.832, 0.832, 0.840),
    }
    gaps = []
    for n, (share_text, *errors_text) in table.items():
        errors, bound, share = _coloring_errors(n)
        assert share == pytest.approx(share_text, abs=0.005)
        assert errors["aligned"] == pytest.approx(bound, abs=1e-8)  # the aligned map reaches the bound
        measured = [errors[name] for name in ("aligned", "eps only", "Li et al.", "default")]
        assert measured == pytest.approx(errors_text, abs=0.0005)
        assert errors["aligned"] < errors["Li et al."] < errors["default"]
        gaps.append(errors["default"] - errors["aligned"])
    assert gaps == sorted(gaps, reverse=True)  # the gaps close as the spectrum flattens
    assert 19 / 64 == pytest.approx(0.30, abs=0.005)  # a flat spectrum's share in any 19 directions


def test_li_et_al_color_with_the_style_on_its_own_numerical_rank():
    """notebooks/source_digest.md footnote 18 and notebooks/06_wct.ipynb, the table of the colorings: Li et
    al.'s coloring (subspace="style", their feature_wct: each side's rank found on its own) gives the output
    covariance S_s^{1/2} P S_s^{1/2} for a style of full rank, not S_{s,k}^{1/2} P S_{s,k}^{1/2} with the
    style truncated to the content's rank k."""
    gen = torch.Generator().manual_seed(1)
    Xc = torch.randn(64, 20, generator=gen, dtype=torch.float64)
    Xs = torch.randn(64, 500, generator=gen, dtype=torch.float64)
    S_c, S_s = stats.covariance(Xc), stats.covariance(Xs)
    k = 19
    lam_c, E_c = torch.linalg.eigh(S_c)
    P = E_c[:, -k:] @ E_c[:, -k:].T  # projector on the content's k kept directions
    lam_s, E_s = torch.linalg.eigh(S_s)
    root_k = E_s[:, -k:] @ torch.diag(lam_s[-k:].sqrt()) @ E_s[:, -k:].T
    root_full = E_s @ torch.diag(lam_s.clamp_min(0).sqrt()) @ E_s.T
    A = transforms.wct_matrix(Xc, style=Xs, eps=0.0, subspace="style").A[0]
    out = A @ S_c @ A.T
    assert float((out - root_full @ P @ root_full).norm() / out.norm()) < 1e-10
    assert float((out - root_k @ P @ root_k).norm() / out.norm()) > 0.1


def _with_covariance(S: torch.Tensor, gen: torch.Generator, n: int = 400) -> torch.Tensor:
    """(C, n) samples whose population covariance is exactly S (orthonormal centred rows, then a Cholesky
    factor), as chapter 06 builds its 3-channel examples."""
    X = torch.randn(n, S.shape[0], generator=gen, dtype=torch.float64)
    Q = torch.linalg.qr(X - X.mean(0)).Q.T * n**0.5
    return torch.linalg.cholesky(S) @ Q


def _three_maps(S_c: torch.Tensor, S_s: torch.Tensor, gen: torch.Generator):
    """WCT's matrix, the Gaussian OT matrix and AdaIN's diagonal matrix for samples with these covariances,
    and the relative gap between the AdaIN output and the OT output."""
    x, s = _with_covariance(S_c, gen), _with_covariance(S_s, gen)
    A_wct = transforms.wct_matrix(x, style=s, eps=0.0, rank_tol=0).A[0]
    ot = transforms.gaussian_ot_matrix(x, style=s)
    D = torch.diag((s.var(1, correction=0) / x.var(1, correction=0)).sqrt())
    out_adain = transforms.adain(x, style=s, eps=1e-300)
    out_ot = transforms.apply_map(ot, content=x)
    return A_wct, ot.A[0], D, float((out_adain - out_ot).norm() / out_ot.norm())


def test_adain_is_the_ot_map_exactly_when_the_correlations_agree():
    """notebooks/06_wct.ipynb, "WCT and the optimal-transport map between Gaussians" (the cell on commuting
    covariances) and its Summary; notebooks/source_digest.md footnote 18. AdaIN's D = diag(s_s / s_c) is the
    OT map exactly when D S_c D = S_s (the same correlation matrix): with S_s = 4 S_c, correlated, all three
    maps are 2I; with equal correlations but non-commuting covariances AdaIN is the OT map and WCT is not.
    False: "AdaIN equals them only when both covariances are diagonal"."""
    gen = torch.Generator().manual_seed(0)
    S_c = torch.tensor([[2.0, 0.8, -0.3], [0.8, 1.0, 0.4], [-0.3, 0.4, 1.5]], dtype=torch.float64)
    assert float((S_c - torch.diag(S_c.diagonal())).abs().max()) > 0.1  # not diagonal
    two = 2 * torch.eye(3, dtype=torch.float64)
    A_wct, A_ot, D, gap = _three_maps(S_c, 4 * S_c, gen)
    for A in (A_wct, A_ot, D):
        assert torch.allclose(A, two, atol=1e-12)
    assert gap < 1e-12

    stds = torch.tensor([0.5, 3.0, 1.2], dtype=torch.float64)
    corr = S_c / torch.outer(S_c.diagonal().sqrt(), S_c.diagonal().sqrt())
    S_s = torch.outer(stds, stds) * corr  # the content's correlations, other variances
    assert float((S_c @ S_s - S_s @ S_c).abs().max()) > 1.0  # the two do not commute
    A_wct, A_ot, D, gap = _three_maps(S_c, S_s, gen)
    assert torch.allclose(D @ S_c @ D, S_s, atol=1e-12)
    assert torch.allclose(A_ot, D, atol=1e-12) and gap < 1e-12  # AdaIN is the OT map
    assert float((A_wct - A_ot).abs().max()) > 0.1  # WCT is not
    assert not torch.allclose(A_wct, A_wct.T, atol=1e-6)  # WCT's matrix is not symmetric here


# ------------------------------------------------------------------------- chapter 04 (receptive fields)


def test_seff_is_a_weighted_mean_not_the_largest_constrained_scale():
    """notebooks/04_layers_and_receptive_fields.ipynb, "What a layer's Gram matrix can see";
    solutions/answers/04_layers_and_receptive_fields.md, question 5; solutions/04_receptive_fields.ipynb,
    the answer to the question and the Summary; notebooks/source_digest.md footnote 11. S_eff of Gatys'
    layers is 45.8 px while the largest field among them (relu5_1) is 132 px; for set 4's choices A and B
    the largest fields are 10 and 132 px."""
    gatys = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    fields = [receptive.receptive_field("vgg16", layer) for layer in gatys]
    assert fields == [3, 10, 24, 60, 132]
    s_eff = receptive.effective_scale(gatys)
    assert s_eff == pytest.approx(45.8)
    assert max(fields) == receptive.receptive_field("vgg16", "relu5_1") == 132
    assert s_eff < 0.5 * max(fields)  # false: "S_eff is the largest scale the style loss can enforce"
    choice_a = {"relu1_1": 1.0, "relu2_1": 1.0}
    choice_b = {"relu3_1": 1.0, "relu4_1": 1.0, "relu5_1": 1.0}
    assert receptive.effective_scale(choice_a) == pytest.approx(6.5)
    assert receptive.effective_scale(choice_b) == pytest.approx(72.0)
    assert max(receptive.receptive_field("vgg16", layer) for layer in choice_a) == 10
    assert max(receptive.receptive_field("vgg16", layer) for layer in choice_b) == 132


def test_reconstruction_layers_of_chapter_03_span_shallow_to_deep_fields():
    """notebooks/03_content_and_gatys.ipynb, "What each layer keeps: content reconstructions": relu4_2 sees
    76 px and relu5_2 164 px, while the 5 px field belongs to the shallow relu1_2."""
    fields = {layer: receptive.receptive_field("vgg16", layer) for layer in ("relu1_2", "relu4_2", "relu5_2")}
    assert fields == {"relu1_2": 5, "relu4_2": 76, "relu5_2": 164}


# ---------------------------------------------------------------------------- chapter 05 (AdaIN, entropy)


def _kozachenko_leonenko(x: np.ndarray) -> float:
    """1-D Kozachenko-Leonenko estimate of differential entropy (nats) from nearest-neighbour distances:
    psi(n) - psi(1) + log 2 + mean log eps_i, eps_i the distance of x_i to its nearest neighbour."""
    y = np.sort(x)
    gaps = np.diff(y)
    eps = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    n = len(x)
    return float(scipy.special.digamma(n) - scipy.special.digamma(1) + math.log(2) + np.log(eps).mean())


def test_kozachenko_leonenko_estimator_is_affine_equivariant():
    """notebooks/source_digest.md footnote 13 (and notebooks/05_adain_and_entropy.ipynb, "Entropy: what the
    text measures"): under y = a x + b every nearest-neighbour distance scales by |a|, so the
    Kozachenko-Leonenko estimate changes by exactly log|a|; a fixed-width histogram does not."""
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 0.5, 20_000)
    h = _kozachenko_leonenko(x)
    assert h == pytest.approx(0.5 * math.log(2 * math.pi * math.e * 0.25), abs=0.06)  # it estimates h
    for a, b in [(6.0, -1.0), (-0.3, 4.0)]:
        assert _kozachenko_leonenko(a * x + b) - h == pytest.approx(math.log(abs(a)), abs=1e-9)
    xt, yt = torch.from_numpy(x)[None], torch.from_numpy(6.0 * x - 1.0)[None]
    grid = float(stats.entropy(yt, bin_width=0.05)[0] - stats.entropy(xt, bin_width=0.05)[0])
    assert abs(grid - math.log(6.0)) > 1e-6  # a fixed grid is a measurement, not exact by construction


def test_adain_reaches_the_style_distribution_within_a_location_scale_family():
    """notebooks/05_adain_and_entropy.ipynb, end of "Real features: an atom at zero", and
    notebooks/source_digest.md footnote 14: AdaIN makes a channel equal in distribution to the style's when
    both come from the same location-scale family (uniform to uniform, Laplace to Laplace, not only Gaussian
    to Gaussian), never across families or with a different share of zeros (two-sample KS test)."""
    rng = np.random.default_rng(0)
    n = 5000
    draw = {
        "uniform": lambda loc, scale: rng.uniform(loc - scale, loc + scale, n),
        "laplace": lambda loc, scale: rng.laplace(loc, scale, n),
        "gauss": lambda loc, scale: rng.normal(loc, scale, n),
    }

    def ks_p(content: np.ndarray, style: np.ndarray) -> float:
        out = transforms.adain(
            torch.from_numpy(content)[None], style=torch.from_numpy(style)[None], eps=1e-12
        )
        return float(scipy.stats.ks_2samp(out[0].numpy(), style).pvalue)

    pairs = [("uniform", "uniform"), ("laplace", "laplace"), ("gauss", "gauss")]
    for family_c, family_s in pairs:
        assert ks_p(draw[family_c](0.3, 0.5), draw[family_s](2.0, 3.0)) > 0.05
    for family_c, family_s in [("gauss", "uniform"), ("uniform", "laplace"), ("laplace", "gauss")]:
        assert ks_p(draw[family_c](0.3, 0.5), draw[family_s](2.0, 3.0)) < 1e-4
    relu_c = np.maximum(rng.normal(-0.25, 1.0, n), 0)  # about 60 % zeros
    relu_s = np.maximum(rng.normal(0.5, 1.0, n), 0)  # about 31 % zeros
    assert ks_p(relu_c, relu_s) < 1e-4


def test_mean_std_loss_is_a_squared_variant_of_the_adain_papers_loss():
    """notebooks/05_adain_and_entropy.ipynb (the prediction on sqrt(L_S)), notebooks/10_fast_feedforward.ipynb
    ("The decoders", "Training the adain pair") and solutions/12_fast_transfer.ipynb, task 3: the course's
    L_S is ||d mu||^2 + ||d sigma||^2, while Huang & Belongie's eq. 13 adds the unsquared norms."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(4, 50, generator=gen, dtype=torch.float64)
    Y = 2 + 3 * torch.randn(4, 50, generator=gen, dtype=torch.float64)
    d_mu = X.mean(1) - Y.mean(1)
    d_sd = X.var(1, correction=0).sqrt() - Y.var(1, correction=0).sqrt()
    L_S = float(losses.mean_std_loss(X, Y, eps=0.0))
    assert L_S == pytest.approx(float(d_mu.norm() ** 2 + d_sd.norm() ** 2), rel=1e-12)
    paper = float(d_mu.norm() + d_sd.norm())
    assert abs(L_S - paper) > 1.0 and abs(L_S**0.5 - paper) > 0.1


# --------------------------------------------------------------------------------- chapter 01 (Gram, MMD)


def test_gram_loss_is_the_poly2_mmd_which_sees_second_moments_only():
    """notebooks/01_gram_and_mmd.ipynb, Summary: ||G(X) - G(S)||_F^2 equals MMD^2 with the kernel (a^T b)^2
    to rounding, and that MMD sees only second moments: the blob and the ring of equal second moments have
    poly2 MMD 0 but a positive rbf MMD. False: "Gram matching is distribution matching"."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(8, 300, generator=gen, dtype=torch.float64)
    Y = 0.5 + torch.randn(8, 200, generator=gen, dtype=torch.float64) ** 2
    gram_loss = float((stats.gram(X) - stats.gram(Y)).pow(2).sum())
    assert float(stats.mmd2(X, Y, kernel="poly2")) == pytest.approx(gram_loss, rel=1e-10)
    blob, ring = counterexamples.equal_covariance_pair()
    assert float(stats.mmd2(blob, ring, kernel="poly2")) < 1e-20
    assert float(stats.mmd2(blob, ring, kernel="rbf")) > 1e-3


# ----------------------------------------------------------------------------- glossary: L-BFGS (chapter 03)


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _run_lbfgs(opt: torch.optim.Optimizer, x: torch.Tensor, steps: int = 30) -> tuple[list[float], int]:
    calls = 0

    def closure() -> torch.Tensor:
        nonlocal calls
        calls += 1
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    values = [float(_rosenbrock(x.detach()))]
    for _ in range(steps):
        opt.step(closure)
        values.append(float(_rosenbrock(x.detach())))
    return values, calls


def test_course_lbfgs_has_no_line_search_and_no_descent_guarantee():
    """notebooks/glossary.md, L-BFGS, and notebooks/03_content_and_gatys.ipynb, "The whole method on one
    page" (why L-BFGS): the course's optimizer is torch.optim.LBFGS(lr=1, max_iter=1, history_size=50)
    without a line search, one evaluation per step; on the Rosenbrock function from (-1.2, 1), 6 of the
    first 30 steps raise the loss, while a strong-Wolfe line search never does, at more than twice the
    evaluations."""
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = optimize.make_optimizer("lbfgs", x)
    assert isinstance(opt, torch.optim.LBFGS)
    assert opt.defaults["line_search_fn"] is None
    assert (opt.defaults["lr"], opt.defaults["max_iter"], opt.defaults["history_size"]) == (1.0, 1, 50)
    values, calls = _run_lbfgs(opt, x)
    assert calls == 30  # one evaluation of the loss and its gradient per step
    assert sum(b > a for a, b in itertools.pairwise(values)) == 6  # false: every step lowers the loss

    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    wolfe = torch.optim.LBFGS(
        [x], lr=1, max_iter=1, max_eval=20, history_size=50, line_search_fn="strong_wolfe"
    )
    values, calls = _run_lbfgs(wolfe, x)
    assert all(b <= a for a, b in itertools.pairwise(values))
    assert calls > 2 * 30


def test_pytorch_lbfgs_shortens_only_the_first_step():
    """notebooks/glossary.md, L-BFGS: the fixed step length is lr = 1, and PyTorch shortens only the very
    first step (to min(1, 1 / ||g||_1) times lr)."""
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = optimize.make_optimizer("lbfgs", x)
    g0 = torch.autograd.grad(_rosenbrock(x), x)[0]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.state[x]["t"] == pytest.approx(min(1.0, 1.0 / float(g0.abs().sum())))
    for _ in range(3):
        opt.step(closure)
        assert opt.state[x]["t"] == 1.0


# ------------------------------------------------------------------------------------- set 3 (shrinkage)


def test_optimal_shrinkage_falls_like_one_over_n_only_for_large_n():
    """solutions/03_shrinkage.ipynb, Summary (and the answer to the concept question): lambda* = a / (a + b)
    with a = E||G - S||_F^2 proportional to 1/N and b = ||T - S||_F^2 falls like 1/N only once a << b; at
    small N it falls more slowly. Checked for the set's S and target (tr S / C) I, in closed form and
    against the set's Monte Carlo estimate."""
    S = torch.tensor(
        [[2.0, 0.9, 0.3, 0.0], [0.9, 1.5, 0.4, 0.1], [0.3, 0.4, 1.0, 0.2], [0.0, 0.1, 0.2, 0.5]],
        dtype=torch.float64,
    )
    d = S.diagonal()
    a_times_n = float((S**2 + d[:, None] * d[None, :]).sum())  # N a, Isserlis
    b = float((S.diagonal().mean() * torch.eye(4, dtype=torch.float64) - S).pow(2).sum())

    def lam_star(N: int) -> float:
        return (a_times_n / N) / (a_times_n / N + b)

    assert lam_star(4) == pytest.approx(0.71, abs=0.01)
    assert lam_star(256) == pytest.approx(0.038, abs=0.001)
    assert lam_star(4) / lam_star(8) < 1.3  # not 2: false "falls like 1/N" at small N
    assert lam_star(4) / lam_star(256) < 64 / 3
    assert lam_star(4096) / lam_star(8192) == pytest.approx(2.0, abs=0.01)  # like 1/N once N is large
    target, root = S.diagonal().mean() * torch.eye(4, dtype=torch.float64), torch.linalg.cholesky(S)
    for N in (4, 256):  # the set's Monte Carlo optimum (400 trials) agrees with the closed form
        gen = torch.Generator().manual_seed(10 + N)
        F = root @ torch.randn(400, 4, N, generator=gen, dtype=torch.float64)
        G = F @ F.transpose(1, 2) / N
        lam_mc = float(((G - S) * (G - target)).sum() / (G - target).pow(2).sum())
        assert lam_mc == pytest.approx(lam_star(N), abs=0.01)


# ------------------------------------------------------------------------------- chapter 09 (checkerboard)


def test_checkerboard_power_at_a_quarter_is_twice_that_at_a_half():
    """notebooks/source_digest.md footnote 23 (and notebooks/09_checkerboard.ipynb): for (k, s) = (5, 4) and
    (7, 4) with all-ones kernels only the raw rfft bins at 1/4 and 1/2 tie; the patterns are
    1.25 + 0.5 cos(pi j/2) + 0.25 cos(pi j) and 1.75 + 0.5 sin(pi j/2) + 0.25 cos(pi j), and the one-sided
    power at 1/4 is twice that at 1/2. For random kernels (s = 4, k = 5..8) either component can be the
    stronger one."""
    j = torch.arange(64, dtype=torch.float64)
    formulas = {
        5: 1.25 + 0.5 * torch.cos(torch.pi * j / 2) + 0.25 * torch.cos(torch.pi * j),
        7: 1.75 + 0.5 * torch.sin(torch.pi * j / 2) + 0.25 * torch.cos(torch.pi * j),
    }
    patterns = {5: [2.0, 1.0, 1.0, 1.0], 7: [2.0, 2.0, 2.0, 1.0]}
    for k, formula in formulas.items():
        assert formula[:4].tolist() == pytest.approx(patterns[k], abs=1e-12)
        inner = artifacts.interior(artifacts.transposed_conv_output(k, 4, n_in=40), k, 4)
        L = inner.shape[0]
        assert L % 4 == 0 and sorted(inner[:4].tolist()) == sorted(patterns[k])  # whole periods of it
        freqs, mag = artifacts.spectrum(inner)
        assert float(freqs[L // 4]) == 0.25 and float(freqs[L // 2]) == 0.5
        assert float(2 * mag[L // 4] / L) == pytest.approx(0.5, abs=1e-12)  # amplitude of the 1/4 wave
        assert float(mag[L // 2] / L) == pytest.approx(0.25, abs=1e-12)  # amplitude of the 1/2 wave
        assert float(mag[L // 4]) == pytest.approx(float(mag[L // 2]), rel=1e-12)  # the raw bins tie
        one_sided = 2 * mag[L // 4] ** 2 / mag[L // 2] ** 2  # +f and -f at 1/4, one bin at Nyquist
        assert float(one_sided) == pytest.approx(2.0, rel=1e-12)
        assert artifacts.dominant_frequency(inner) == 0.25

    stronger_half = 0
    for k in range(5, 9):
        for seed in range(500):
            y = artifacts.transposed_conv_output(k, 4, n_in=16, kernel="random", seed=seed)
            inner = artifacts.interior(y, k, 4)
            L = inner.shape[0]
            power = artifacts.spectrum(inner)[1].pow(2)
            stronger_half += bool(power[L // 2] > 2 * power[L // 4])
    assert 0.1 < stronger_half / 2000 < 0.9


# ------------------------------------------------------------------------------------ chapter 08 (memory)


def test_style_layer_feature_maps_outweigh_their_gram_matrices():
    """notebooks/source_digest.md footnote 25 and solutions/answers/08_memory_block_gram.md: in float32 the
    feature maps of VGG16's five style layers (relu1_1 ... relu5_1, widths 64 ... 512 at strides 1 ... 16)
    take 30.5 MiB at 256 px, 122 MiB at 512 px and 488 MiB at 1024 px; their five Gram matrices take
    2.33 MiB at any size, 4.7 MiB with their gradients."""
    mib = 2**20
    widths, strides = (64, 128, 256, 512, 512), (1, 2, 4, 8, 16)

    def features_mib(side: int) -> float:
        return sum(4 * c * (side // s) ** 2 for c, s in zip(widths, strides, strict=True)) / mib

    grams = sum(stats.gram_memory_bytes(c) for c in widths) / mib
    assert [round(features_mib(side), 1) for side in (256, 512, 1024)] == [30.5, 122.0, 488.0]
    assert round(grams, 2) == 2.33 and round(2 * grams, 1) == 4.7
