"""Checks of exercise set 06: instance normalization versus batch normalization.

IN: y_bc = (x_bc - mu_bc) / sqrt(var_bc + eps), statistics of each sample and channel over H x W
(Ulyanov et al. 2016); BN (training mode): statistics of each channel pooled over the batch and all
positions (Ioffe & Szegedy 2015). Population variance, no affine parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import transforms
from ._core import Args, verdict
from ._random import maps

_IN_DIMS, _BN_DIMS = (2, 3), (0, 2, 3)


def _normalized(
    F: torch.Tensor, dims: tuple[int, ...], eps: float, correction: int = 0, outside: bool = False
) -> torch.Tensor:
    """(F - mean) / sqrt(var + eps) over ``dims`` (``outside``: / (std + eps))."""
    mu = F.mean(dims, keepdim=True)
    var = F.var(dims, keepdim=True, correction=correction)
    return (F - mu) / (var.sqrt() + eps if outside else (var + eps).sqrt())


def _norm_cases(seed: int) -> list[Args]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (maps(gen, 2, 3, 4, 4, torch.float32), 1e-5),
        (maps(gen, 3, 5, 3, 3, torch.float64), 1e-5),
        (maps(gen, 4, 2, 5, 6, torch.float64, tiny=True), 1e-5),
        (maps(gen, 2, 4, 3, 5, torch.float32, tiny=True), 1e-5),
    ]


def _norm_mistakes(dims: tuple[int, ...]) -> dict[str, Any]:
    """The mistakes IN and BN share, for statistics over ``dims``."""
    return {
        "missing eps: divide by sqrt(var + eps), which stays finite on a constant channel": (
            lambda F, eps: _normalized(F, dims, 0.0)
        ),
        "eps added outside the square root: divide by sqrt(var + eps), not std + eps": (
            lambda F, eps: _normalized(F, dims, eps, outside=True)
        ),
        "unbiased variance (divides by N - 1, torch's default): use the population variance, "
        "var(..., correction=0) or unbiased=False": lambda F, eps: _normalized(F, dims, eps, correction=1),
        "statistics over the channels too (layer norm): normalize every channel separately": (
            lambda F, eps: _normalized(F, tuple(sorted({1, *dims})), eps)
        ),
    }


def _check_norm(
    task: str,
    student_fn: Callable[..., Any],
    reference: Callable[..., Any],
    dims: tuple[int, ...],
    wrong_pooling: dict[str, tuple[int, ...]],
    seed: int,
) -> bool:
    """A normalization check: statistics over ``dims``; ``wrong_pooling`` maps the message of a pooling
    mistake to the dims it pools over."""
    mistakes: dict[str, Any] = {
        message: (lambda F, eps, wrong=wrong: _normalized(F, wrong, eps))
        for message, wrong in wrong_pooling.items()
    }
    return verdict(task, student_fn, reference, _norm_cases(seed), {**mistakes, **_norm_mistakes(dims)})


def check_instance_norm(student_fn: Callable[..., Any]) -> bool:
    """``instance_norm(F, eps)`` of (B, C, H, W) maps: (x - mu_bc) / sqrt(var_bc + eps), stats per sample
    and channel over positions, population variance, no affine parameters."""
    wrong_pooling = {
        "statistics pooled over the batch (that is batch norm): instance norm uses each sample's own mean "
        "and std, over its H x W positions (dims 2, 3)": _BN_DIMS,
        "statistics over the batch axis only: average over the positions H x W (dims 2, 3) of each sample": (
            0,
        ),
    }
    return _check_norm("instance_norm", student_fn, transforms.instance_norm, _IN_DIMS, wrong_pooling, 601)


def check_batch_norm(student_fn: Callable[..., Any]) -> bool:
    """``batch_norm(F, eps)`` of (B, C, H, W) maps (training mode): (x - mu_c) / sqrt(var_c + eps), stats of
    each channel pooled over the batch and all positions, population variance, no affine parameters."""
    wrong_pooling = {
        "statistics per sample (that is instance norm): batch norm pools each channel over the whole "
        "batch and all positions (dims 0, 2, 3)": _IN_DIMS,
        "statistics over the batch axis only, per position: pool over the positions too (dims 0, 2, 3)": (0,),
    }
    return _check_norm("batch_norm", student_fn, transforms.batch_norm, _BN_DIMS, wrong_pooling, 602)
