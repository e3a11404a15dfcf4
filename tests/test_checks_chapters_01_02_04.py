"""Checks of the "Your turn" cells of chapters 01, 02 and 04 (chapters_01_02_04.py): the shrinkage
toward the scaled identity passes nstlab's reference and a correct implementation written differently and
names every typical mistake (written here by hand); the library versions the chapters fall back on pass
the checks they stand in for and agree with nstlab."""

from __future__ import annotations

import pytest
import torch
from check_harness import check_tests

from nstlab import checks, receptive, stats
from nstlab.checks.chapters_01_02_04 import effective_scale_reference, shrink_scaled_reference


def shrink_loop(G, lam):
    """One matrix at a time, the trace by torch.trace, the target by a scaled eye."""
    flat = G.reshape(-1, *G.shape[-2:])
    out = [
        torch.lerp(g, torch.trace(g) / g.shape[0] * torch.eye(g.shape[0], dtype=g.dtype), lam) for g in flat
    ]
    return torch.stack(out).reshape(G.shape)


def eye(G):
    return torch.eye(G.shape[-1], dtype=G.dtype)


def trace(G):
    return G.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]


CORRECT = [
    (checks.check_shrink_scaled, shrink_scaled_reference),
    (checks.check_shrink_scaled, shrink_loop),
]

MISTAKES = [
    (
        "identity target",
        checks.check_shrink_scaled,
        lambda G, lam: (1 - lam) * G + lam * eye(G),
        "identity I",
    ),
    (
        "trace not divided by C",
        checks.check_shrink_scaled,
        lambda G, lam: (1 - lam) * G + lam * trace(G) * eye(G),
        "without dividing by C",
    ),
    (
        "mean of all entries",
        checks.check_shrink_scaled,
        lambda G, lam: (1 - lam) * G + lam * G.mean() * eye(G),
        "mean of all the entries",
    ),
    (
        "lambda swapped",
        checks.check_shrink_scaled,
        lambda G, lam: lam * G + (1 - lam) * trace(G) / G.shape[-1] * eye(G),
        "swapped",
    ),
    (
        "diagonal target",
        checks.check_shrink_scaled,
        lambda G, lam: (1 - lam) * G + lam * G * eye(G),
        "target diag(G)",
    ),
    (
        "one m for the batch",
        checks.check_shrink_scaled,
        lambda G, lam: (1 - lam) * G + lam * torch.diagonal(G, dim1=-2, dim2=-1).mean() * eye(G),
        "one m for the whole batch",
    ),
    (
        "float64 eye",
        checks.check_shrink_scaled,
        lambda G, lam: shrink_loop(G.double(), lam),
        "keep the inputs' dtype",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)


@pytest.mark.parametrize(
    ("check", "library"),
    [
        (checks.check_gram, stats.gram),
        (checks.check_mmd2_poly2, lambda X, Y: stats.mmd2(X, Y, kernel="poly2")),
        (checks.check_gram_entry_variance_theory, stats.gram_entry_variance_theory),
        (checks.check_receptive_fields, checks.receptive_field_reference),
        (checks.check_effective_scale, effective_scale_reference),
    ],
    ids=["gram", "mmd2_poly2", "isserlis", "receptive_fields", "effective_scale"],
)
def test_the_library_versions_the_chapters_fall_back_on_pass(check, library, capsys):
    """The function a chapter goes on with before the student's passes is itself right."""
    assert check(library) is True, capsys.readouterr().out


def test_effective_scale_reference_agrees_with_the_library():
    """From VGG16's own fields, the chapter's fallback gives receptive.effective_scale."""
    sizes = {name: field.size for name, field in receptive.receptive_fields("vgg16").items()}
    weights = {"relu1_1": 1.0, "relu3_1": 0.5, "relu5_1": 3.0}
    expected = receptive.effective_scale(weights, "vgg16")
    assert effective_scale_reference(weights, sizes) == pytest.approx(expected, rel=1e-12)


def test_shrink_scaled_reference_keeps_the_trace_and_the_eigenvectors():
    """(1 - lam) G + lam (tr G / C) I has the trace of G and the eigenvalues (1 - lam) mu_k + lam m."""
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    G = A @ A.T  # rank 3: two zero eigenvalues
    shrunk = shrink_scaled_reference(G, 0.25)
    m = torch.trace(G) / 5
    assert torch.isclose(torch.trace(shrunk), torch.trace(G))
    expected = 0.75 * torch.linalg.eigvalsh(G) + 0.25 * m
    assert torch.allclose(torch.linalg.eigvalsh(shrunk), expected)
