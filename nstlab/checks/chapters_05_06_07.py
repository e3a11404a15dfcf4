"""Checks of the "Your turn" cells of chapters 05, 06 and 07.

The cells reuse the checks of the exercise sets that ask for the same functions (``check_instance_norm``,
``check_adain``, ``check_whiten``, ``check_color``, ``check_ot1d``, ``check_sliced_w2``). This module holds
what the cells pass as ``library=`` to :func:`nstlab.checks.your_turn` where nstlab's own function has
another signature: the library's version of the task with the cell's signature and semantics, the
function each check compares against.
"""

from __future__ import annotations

import torch

from .. import losses, transforms


def adain_reference(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``adain(content, style, eps)``: :func:`nstlab.transforms.adain` with alpha = 1,
    sigma_s (x - mu_c) / sigma_c + mu_s per sample and channel, sigma = sqrt(population variance + eps)."""
    return transforms.adain(content, style, eps=eps)


def whiten_reference(F: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``whiten(F, eps)`` of a (C, N) matrix: ZCA whitening E diag(1 / sqrt(lam + eps)) E^T (F - mu) on
    every eigen-direction (:func:`nstlab.transforms.whiten` without rank truncation, ``rank_tol=0``)."""
    return transforms.whiten(F, eps=eps, rank_tol=0)


def sliced_w2_reference(X: torch.Tensor, Y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """``sliced_w2(X, Y, theta)``: SW2^2 = (1/L) sum_l W2^2(theta_l^T X, theta_l^T Y) for X, Y (C, N) and the
    directions theta (L, C), each scaled to unit length first; each term is :func:`nstlab.losses.ot1d`.
    With ``theta = losses.random_directions(C, L, torch.Generator().manual_seed(seed))`` it equals
    ``losses.sliced_w2(X, Y, n_projections=L, seed=seed)``."""
    T = theta.to(torch.float64)
    T = (T / T.norm(dim=1, keepdim=True)).to(X)
    return losses.ot1d(T @ X, T @ Y) / T.shape[0]
