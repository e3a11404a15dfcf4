"""Exercise checks of sets 1-5: each passes on nstlab's reference and on a correct implementation written
differently, fails on each typical mistake (written here by hand) with a line that names it, and reports
"not implemented yet" on a stub without raising."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nstlab import checks, receptive, stats, transforms


def stub(*args, **kwargs):
    raise NotImplementedError()


# ---------------------------------------------------------------------------------------------------
# Correct implementations written differently from the library (loops, numpy, einsum)
# ---------------------------------------------------------------------------------------------------


def gram_einsum(F):
    return torch.einsum("cn,dn->cd", F, F) / F.shape[1]


def block_gram_loop(F, B):
    G = F @ F.T / F.shape[1]
    return torch.stack([G[k : k + B, k : k + B] for k in range(0, F.shape[0], B)])


def gram_memory_formula(C, block_size=None, itemsize=4):
    return (C * C if block_size is None else (C // block_size) * block_size**2) * itemsize


def mmd2_kernel_sums(X, Y):
    k = lambda A, B: (A.T @ B) ** 2  # noqa: E731
    return k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean()


def gram_entry_variance_numpy(F_trials):
    F = F_trials.double().numpy()
    G = np.einsum("tcn,tdn->tcd", F, F) / F.shape[-1]
    return torch.from_numpy(G.var(axis=0, ddof=1))


def isserlis(S, N):
    d = torch.diagonal(S)
    return (S * S + torch.outer(d, d)) / N


def shrink_lerp(G, lam):
    return torch.lerp(G, torch.eye(G.shape[0], dtype=G.dtype), lam)


def optimal_lambda_grid(G_trials, S, T):
    """Closed form written as a 1-D least-squares solve with numpy."""
    a = (G_trials - T).double().reshape(-1, 1).numpy()
    b = (G_trials - S).double().reshape(-1).numpy()
    return float(np.linalg.lstsq(a, b, rcond=None)[0][0])


def receptive_fields_loop(layers):
    sizes, jumps, r, j = [], [], 1, 1
    for k, s in layers:
        r += (k - 1) * j
        j *= s
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


def effective_scale_numpy(weights, sizes):
    a = np.array(list(weights.values()))
    r = np.array([sizes[n] for n in weights])
    return float(np.average(r, weights=a))


def scale_ratio_mine(style, content, sizes):
    return effective_scale_numpy(style, sizes) / effective_scale_numpy(content, sizes)


def adain_mine(content, style, eps=1e-5):
    def mean_sd(x):
        flat = x.flatten(2)
        mu = flat.mean(-1)[..., None, None]
        var = ((flat - flat.mean(-1, keepdim=True)) ** 2).mean(-1)[..., None, None]
        return mu, torch.sqrt(var + eps)

    (mc, sc), (ms, ss) = mean_sd(content), mean_sd(style)
    return (content - mc) / sc * ss + ms


def entropy_change_mine(content, style):
    return torch.log(style.std(-1, correction=0)) - torch.log(content.std(-1, correction=0))


CORRECT = [
    (checks.check_gram, stats.gram),
    (checks.check_gram, gram_einsum),
    (checks.check_block_diag_gram, stats.block_diag_gram),
    (checks.check_block_diag_gram, block_gram_loop),
    (
        checks.check_gram_memory,
        lambda C, B, it: stats.gram_memory_bytes(C, B, {2: torch.half, 4: torch.float, 8: torch.double}[it]),
    ),
    (checks.check_gram_memory, gram_memory_formula),
    (checks.check_poly2_kernel, lambda A, B: torch.einsum("cn,cm->nm", A, B).square()),
    (checks.check_mmd2_poly2, lambda X, Y: stats.mmd2(X, Y, "poly2")),
    (checks.check_mmd2_poly2, mmd2_kernel_sums),
    (checks.check_gram_entry_variance, gram_entry_variance_numpy),
    (checks.check_gram_entry_variance_theory, stats.gram_entry_variance_theory),
    (checks.check_gram_entry_variance_theory, isserlis),
    (checks.check_shrink, stats.shrink),
    (checks.check_shrink, shrink_lerp),
    (checks.check_optimal_lambda, checks.optimal_lambda_reference),
    (checks.check_optimal_lambda, optimal_lambda_grid),
    (checks.check_receptive_fields, receptive_fields_loop),
    (checks.check_effective_scale, lambda w, r: receptive.effective_scale(w, "vgg16")),
    (checks.check_effective_scale, effective_scale_numpy),
    (checks.check_scale_ratio, lambda s, c, r: receptive.scale_ratio(s, c, "vgg16")),
    (checks.check_scale_ratio, scale_ratio_mine),
    (checks.check_adain, lambda c, s, eps=1e-5: transforms.adain(c, s, eps=eps)),
    (checks.check_adain, adain_mine),
    (checks.check_entropy_change, lambda c, s: stats.adain_entropy_change(c, s).exact),
    (checks.check_entropy_change, entropy_change_mine),
]


@pytest.mark.parametrize(("check", "fn"), CORRECT, ids=lambda x: getattr(x, "__name__", ""))
def test_check_passes_on_a_correct_implementation(check, fn, capsys):
    assert check(fn) is True
    assert "✔" in capsys.readouterr().out


def test_reference_recurrence_agrees_with_vgg16_table():
    """The checks' RF recurrence on VGG16's (kernel, stride) list gives nstlab.receptive's sizes and jumps."""
    from nstlab.backbones import vgg_layers

    spec = vgg_layers("vgg16")
    layers = [receptive.KERNEL_STRIDE_PAD[kind][:2] for _, kind, *_ in spec]
    sizes, jumps = checks.receptive_field_reference(layers)
    table = receptive.receptive_fields("vgg16")
    assert sizes == [table[n].size for n, *_ in spec]
    assert jumps == [table[n].jump for n, *_ in spec]
    assert table["relu4_1"].size == 60 and table["pool5"].jump == 32  # Araujo et al.'s VGG16 values


def test_optimal_lambda_reference_is_the_minimum_of_the_mse_curve():
    """A fine grid of the mean squared error (stats.shrink) has its minimum at the closed-form lambda."""
    gen = torch.Generator().manual_seed(3)
    S = torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64))
    F = S.sqrt() @ torch.randn(200, 4, 6, generator=gen, dtype=torch.float64)
    G = F @ F.transpose(-1, -2) / 6
    T = torch.eye(4, dtype=torch.float64) * S.diagonal().mean()
    lams = torch.linspace(0, 1, 2001, dtype=torch.float64)
    mse = torch.stack([(stats.shrink(G, float(lam), T) - S).pow(2).sum((-1, -2)).mean() for lam in lams])
    best = float(lams[mse.argmin()])
    assert abs(float(checks.optimal_lambda_reference(G, S, T)) - best) < 1e-3
    assert 0.05 < best < 0.95


# ---------------------------------------------------------------------------------------------------
# Typical mistakes, written by hand, and the phrase of the message that must name them
# ---------------------------------------------------------------------------------------------------

eye = lambda G: torch.eye(G.shape[-1], dtype=G.dtype)  # noqa: E731


def _rf(layers, r0=1, jump=lambda j, s: j * s, size=lambda r, j, k, s: r + (k - 1) * j, jump_first=False):
    sizes, jumps, r, j = [], [], r0, 1
    for k, s in layers:
        if jump_first:
            j = jump(j, s)
        r = size(r, j, k, s)
        if not jump_first:
            j = jump(j, s)
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


def _adain(c, s, eps=1e-5, dims=(2, 3), unbiased=False, form="ok", eps_on_std=False):
    def ms(x):
        mu = x.mean(dims, keepdim=True)
        sd = x.std(dims, keepdim=True, unbiased=unbiased)
        return mu, (sd + eps if eps_on_std else torch.sqrt(sd**2 + eps))

    (mc, sc), (mu_s, ss) = ms(c), ms(s)
    if form == "swap":
        return (c - mc) / sc * mu_s + ss
    if form == "mean":
        return c - mc + mu_s
    if form == "norm":
        return (c - mc) / sc
    return (c - mc) / sc * ss + mu_s


def _grams(F):
    return F @ F.transpose(-1, -2) / F.shape[-1]


MISTAKES = [
    # set 1: gram
    ("gram F^T F", checks.check_gram, lambda F: F.T @ F / F.shape[1], "F^T F"),
    ("gram F^T F unnormalized", checks.check_gram, lambda F: F.T @ F, "F^T F"),
    ("gram /CN", checks.check_gram, lambda F: F @ F.T / F.numel(), "C*N"),
    ("gram no division", checks.check_gram, lambda F: F @ F.T, "did not divide by N"),
    # block Gram
    (
        "block off-diagonal",
        checks.check_block_diag_gram,
        lambda F, B: torch.stack([(F @ F.T / F.shape[1])[k : k + B, :B] for k in range(0, F.shape[0], B)]),
        "off-diagonal blocks",
    ),
    (
        "block reshape of G",
        checks.check_block_diag_gram,
        lambda F, B: (F @ F.T / F.shape[1]).reshape(-1, B, B)[: F.shape[0] // B],
        "wrong reshape",
    ),
    (
        "block strided channels",
        checks.check_block_diag_gram,
        lambda F, B: _grams(torch.stack([F[k :: F.shape[0] // B] for k in range(F.shape[0] // B)])),
        "consecutive channels",
    ),
    ("block full Gram", checks.check_block_diag_gram, lambda F, B: F @ F.T / F.shape[1], "full (C, C)"),
    (
        "block /BN",
        checks.check_block_diag_gram,
        lambda F, B: _grams(F.reshape(-1, B, F.shape[1])) / B,
        "normalization: divided by B*N",
    ),
    (
        "block no /N",
        checks.check_block_diag_gram,
        lambda F, B: _grams(F.reshape(-1, B, F.shape[1])) * F.shape[1],
        "normalization: did not divide by N",
    ),
    # memory
    (
        "memory one block",
        checks.check_gram_memory,
        lambda C, B, it=4: (B if B else C) ** 2 * it,
        "one block only",
    ),
    ("memory full C^2", checks.check_gram_memory, lambda C, B, it=4: C * C * it, "full C^2"),
    ("memory numbers", checks.check_gram_memory, lambda C, B, it=4: C * (B or C), "numbers, not bytes"),
    # set 2: kernel matrix and MMD
    ("kernel not squared", checks.check_poly2_kernel, lambda A, B: A.T @ B, "linear kernel"),
    (
        "kernel entries squared first",
        checks.check_poly2_kernel,
        lambda A, B: (A * A).T @ (B * B),
        "squared the entries",
    ),
    ("kernel transposed", checks.check_poly2_kernel, lambda A, B: (B.T @ A) ** 2, "transposed"),
    (
        "mmd unbiased",
        checks.check_mmd2_poly2,
        lambda X, Y: sum(
            sgn
            * (((A.T @ Bm) ** 2).sum() - (((A.T @ Bm) ** 2).diagonal().sum() if same else 0))
            / (A.shape[1] * (Bm.shape[1] - same))
            for A, Bm, sgn, same in ((X, X, 1, 1), (Y, Y, 1, 1), (X, Y, -2, 0))
        ),
        "unbiased estimator",
    ),
    (
        "mmd linear kernel",
        checks.check_mmd2_poly2,
        lambda X, Y: (X.T @ X).mean() + (Y.T @ Y).mean() - 2 * (X.T @ Y).mean(),
        "linear kernel",
    ),
    (
        "mmd 1/(n-1)",
        checks.check_mmd2_poly2,
        lambda X, Y: (
            ((X.T @ X) ** 2).sum() / (X.shape[1] * (X.shape[1] - 1))
            + ((Y.T @ Y) ** 2).sum() / (Y.shape[1] * (Y.shape[1] - 1))
            - 2 * ((X.T @ Y) ** 2).mean()
        ),
        "1/(n-1) normalization",
    ),
    # set 3: Gram-entry variance, shrinkage, optimal lambda
    ("variance std", checks.check_gram_entry_variance, lambda F: _grams(F).std(dim=0), "standard deviation"),
    (
        "variance no 1/N",
        checks.check_gram_entry_variance,
        lambda F: (F @ F.transpose(1, 2)).var(dim=0),
        "missing 1/N",
    ),
    (
        "variance /T",
        checks.check_gram_entry_variance,
        lambda F: _grams(F).var(dim=0, unbiased=False),
        "T - 1",
    ),
    (
        "theory no 1/N",
        checks.check_gram_entry_variance_theory,
        lambda S, N: isserlis(S, N) * N,
        "missing 1/N",
    ),
    (
        "theory no S_ij^2",
        checks.check_gram_entry_variance_theory,
        lambda S, N: torch.outer(S.diagonal(), S.diagonal()) / N,
        "dropped the S_ij^2",
    ),
    ("shrink swapped", checks.check_shrink, lambda G, lam: lam * G + (1 - lam) * eye(G), "swapped"),
    (
        "shrink scaled identity target",
        checks.check_shrink,
        lambda G, lam: (1 - lam) * G + lam * torch.trace(G) / G.shape[0] * eye(G),
        "target not the identity",
    ),
    (
        "shrink diag target",
        checks.check_shrink,
        lambda G, lam: (1 - lam) * G + lam * torch.diag(torch.diagonal(G)),
        "target not the identity",
    ),
    (
        "optimal lambda swapped",
        checks.check_optimal_lambda,
        lambda G, S, T: 1 - optimal_lambda_grid(G, S, T),
        "swapped",
    ),
    (
        "optimal lambda identity target",
        checks.check_optimal_lambda,
        lambda G, S, T: optimal_lambda_grid(G, S, eye(S)),
        "identity as the target",
    ),
    # set 4: receptive fields
    (
        "rf jump = stride",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump=lambda j, s: s),
        "jump not accumulated",
    ),
    (
        "rf jump never updated",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump=lambda j, s: 1),
        "jump not accumulated",
    ),
    (
        "rf stride on size",
        checks.check_receptive_fields,
        lambda L: _rf(L, size=lambda r, j, k, s: (r + (k - 1) * j) * s),
        "stride applied to the size",
    ),
    ("rf r0 = 0", checks.check_receptive_fields, lambda L: _rf(L, r0=0), "off by one at the first layer"),
    (
        "rf r + k j",
        checks.check_receptive_fields,
        lambda L: _rf(L, size=lambda r, j, k, s: r + k * j),
        "off by one at the first layer",
    ),
    (
        "rf jump first",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump_first=True),
        "jump updated before",
    ),
    (
        "S_eff no normalization",
        checks.check_effective_scale,
        lambda w, r: sum(a * r[n] for n, a in w.items()),
        "not divided by the sum of the weights",
    ),
    (
        "S_eff unweighted",
        checks.check_effective_scale,
        lambda w, r: float(np.mean([r[n] for n in w])),
        "unweighted mean",
    ),
    ("R inverted", checks.check_scale_ratio, lambda s, c, r: 1 / scale_ratio_mine(s, c, r), "inverted"),
    # set 5: AdaIN and entropy
    ("adain no eps", checks.check_adain, lambda c, s, eps=1e-5: _adain(c, s, eps=0.0), "missing eps"),
    (
        "adain batch stats",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, dims=(0, 2, 3)),
        "over the batch",
    ),
    (
        "adain swapped",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="swap"),
        "std and mean swapped",
    ),
    (
        "adain mean only",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="mean"),
        "only the mean matched",
    ),
    (
        "adain normalize only",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="norm"),
        "only normalized",
    ),
    (
        "adain unbiased std",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, unbiased=True),
        "unbiased std",
    ),
    (
        "adain eps on std",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, eps_on_std=True),
        "eps added to the std",
    ),
    ("entropy sign", checks.check_entropy_change, lambda c, s: -entropy_change_mine(c, s), "sign flipped"),
    (
        "entropy variance ratio",
        checks.check_entropy_change,
        lambda c, s: torch.log(s.var(-1, unbiased=False) / c.var(-1, unbiased=False)),
        "variance ratio",
    ),
    (
        "entropy no log",
        checks.check_entropy_change,
        lambda c, s: s.std(-1, unbiased=False) / c.std(-1, unbiased=False),
        "without the log",
    ),
]


@pytest.mark.parametrize(
    ("check", "wrong", "phrase"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_check_names_the_mistake(check, wrong, phrase, capsys):
    assert check(wrong) is False
    line = capsys.readouterr().out
    assert line.startswith("✘") and phrase in line, line


ALL_CHECKS = sorted({c for c, _ in CORRECT}, key=lambda c: c.__name__)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_stub_reports_not_implemented(check, capsys):
    assert check(stub) is False
    out = capsys.readouterr().out
    assert "not implemented yet" in out and out.count("\n") == 1


def test_a_crash_or_a_missing_return_is_reported_not_raised(capsys):
    assert checks.check_gram(lambda F: F @ F) is False  # (C, N) @ (C, N): a shape error
    assert "raised RuntimeError" in capsys.readouterr().out
    assert checks.check_shrink(lambda G, lam: None) is False
    assert "returned None" in capsys.readouterr().out


def test_isserlis_reference_matches_a_large_simulation():
    """The theory check's reference is right: Monte Carlo variance of Gram entries agrees to ~10%."""
    S = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    sim = stats.gram_entry_variance(2, [16], n_trials=4000, seed=1, cov=S)[0]
    assert torch.allclose(sim, isserlis(S, 16), rtol=0.1)
    assert math.isclose(float(isserlis(S, 16)[0, 1]), (0.64 + 2.0) / 16)
