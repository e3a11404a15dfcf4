"""The library versions chapters 05, 06 and 07 pass to ``checks.your_turn`` (``chapters_05_06_07``):
each passes the check of its "Your turn" cell, so a student who has not finished a cell goes on with a
function of the same contract, and each agrees with the nstlab call the chapter made before."""

from __future__ import annotations

import pytest
import torch
from check_harness import run

from nstlab import checks, losses, transforms
from nstlab.checks import chapters_05_06_07

CORRECT = [  # (the cell's check, the library version the chapter falls back on)
    (checks.check_adain, chapters_05_06_07.adain_reference),
    (checks.check_whiten, chapters_05_06_07.whiten_reference),
    (checks.check_sliced_w2, chapters_05_06_07.sliced_w2_reference),
    (checks.check_instance_norm, transforms.instance_norm),
    (checks.check_color, transforms.coloring),
    (checks.check_ot1d, losses.ot1d),
]


@pytest.mark.parametrize(("check", "reference"), CORRECT, ids=lambda x: getattr(x, "__name__", ""))
def test_the_library_version_passes_the_cells_check(check, reference, capsys):
    ok, out = run(check, reference, capsys)
    assert ok is True and out.startswith("✔"), out


def test_adain_reference_is_adain_with_alpha_one():
    g = torch.Generator().manual_seed(0)
    c = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    s = 2 * torch.randn(1, 3, 6, 6, generator=g, dtype=torch.float64) + 1
    assert torch.equal(chapters_05_06_07.adain_reference(c, s, 1e-3), transforms.adain(c, s, eps=1e-3))
    assert torch.equal(chapters_05_06_07.adain_reference(c, s), transforms.adain(c, s))


def test_whiten_reference_keeps_every_direction():
    g = torch.Generator().manual_seed(1)
    F = torch.randn(6, 4, generator=g, dtype=torch.float64)  # N < C: singular covariance
    z = chapters_05_06_07.whiten_reference(F, 1e-2)
    mu = F.mean(1, keepdim=True)
    lam, E = torch.linalg.eigh((F - mu) @ (F - mu).T / F.shape[1])
    assert torch.allclose(z, (E * (lam.clamp_min(0) + 1e-2).rsqrt()) @ E.T @ (F - mu), atol=1e-10)


def test_sliced_w2_reference_with_seeded_directions_is_losses_sliced_w2():
    g = torch.Generator().manual_seed(2)
    X = torch.randn(3, 40, generator=g, dtype=torch.float64)
    Y = torch.rand(3, 40, generator=g, dtype=torch.float64)
    theta = losses.random_directions(3, 32, torch.Generator().manual_seed(7))
    expected = losses.sliced_w2(X, Y, n_projections=32, seed=7)
    assert torch.allclose(chapters_05_06_07.sliced_w2_reference(X, Y, theta), expected, rtol=1e-12)
    # directions of any length give the same value: each is scaled to unit length first
    assert torch.allclose(chapters_05_06_07.sliced_w2_reference(X, Y, 5 * theta), expected, rtol=1e-12)
