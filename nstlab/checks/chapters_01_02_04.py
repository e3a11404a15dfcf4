"""Checks of the "Your turn" cells of chapters 01, 02 and 04.

Most of these cells reuse a check of an exercise set (``check_gram``, ``check_mmd2_poly2``,
``check_gram_entry_variance_theory``, ``check_receptive_fields``, ``check_effective_scale``); this module
holds what those do not: the shrinkage toward the scaled identity that chapter 02 uses,
G_lam = (1 - lam) G + lam m I with m = tr(G) / C (Ledoit & Wolf 2004; :func:`nstlab.stats.shrink` with
``target="scaled_identity"``), and the library versions a chapter goes on with when the student's
function does not pass yet, with the student's call signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from .. import stats
from ._core import verdict
from ._random import spd


def shrink_scaled_reference(G: torch.Tensor, lam: float) -> torch.Tensor:
    """(1 - lam) G + lam m I with m = tr(G) / C, for a (C, C) matrix or each matrix of a batch (B, C, C)."""
    return stats.shrink(G, lam, target="scaled_identity")


def _eye(G: torch.Tensor) -> torch.Tensor:
    return torch.eye(G.shape[-1], dtype=G.dtype)


def _with_m(G: torch.Tensor, lam: float, m: torch.Tensor) -> torch.Tensor:
    return (1 - lam) * G + lam * m * _eye(G)


def _diagonal(G: torch.Tensor) -> torch.Tensor:
    return G.diagonal(dim1=-2, dim2=-1)


def check_shrink_scaled(student_fn: Callable[..., Any]) -> bool:
    """``shrink(G, lam)``: (1 - lam) G + lam m I with m = tr(G) / C, for (C, C) or a batch (B, C, C)."""
    gen = torch.Generator().manual_seed(1101)
    batch = torch.stack([5.0 * spd(gen, 4), 0.2 * spd(gen, 4), spd(gen, 4)])
    cases = [(3.0 * spd(gen, 5), 0.3), (spd(gen, 6, torch.float32) * 8.0, 0.7), (batch, 0.4)]
    per_matrix = lambda G: _diagonal(G).mean(-1)[..., None, None]  # noqa: E731
    mistakes = {
        "target the identity I: shrink toward m I with m = tr(G) / C, the average eigenvalue of G": (
            lambda G, lam: stats.shrink(G, lam)
        ),
        "m = tr(G) without dividing by C: m is the average eigenvalue, tr(G) / C": (
            lambda G, lam: _with_m(G, lam, _diagonal(G).sum(-1)[..., None, None])
        ),
        "m = mean of all the entries of G; m is the mean of the diagonal, tr(G) / C": (
            lambda G, lam: _with_m(G, lam, G.mean((-2, -1), keepdim=True))
        ),
        "lambda and 1 - lambda swapped: G_lam = (1 - lam) G + lam m I (lam = 0 keeps G)": (
            lambda G, lam: lam * G + (1 - lam) * per_matrix(G) * _eye(G)
        ),
        "target diag(G): the target is m I, one number m = tr(G) / C on the whole diagonal": (
            lambda G, lam: (1 - lam) * G + lam * torch.diag_embed(_diagonal(G))
        ),
        "one m for the whole batch: each matrix G_b has its own m_b = tr(G_b) / C": (
            lambda G, lam: _with_m(G, lam, _diagonal(G).mean())
        ),
    }
    return verdict("shrink", student_fn, shrink_scaled_reference, cases, mistakes, keep_dtype=True)


def effective_scale_reference(weights: Mapping[str, float], sizes: Mapping[str, int]) -> float:
    """S_eff = sum_l a_l r_l / sum_l a_l over the layers of ``weights`` ({name: a_l}), r_l = ``sizes[name]``.

    :func:`nstlab.receptive.effective_scale` computes the same from a backbone's own receptive fields.
    """
    return sum(a * sizes[name] for name, a in weights.items()) / sum(weights.values())
