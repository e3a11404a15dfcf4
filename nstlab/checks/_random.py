"""Seeded random inputs of the exercise checks, one copy each.

Every check draws its cases from a ``torch.Generator`` seeded per task (seeds 101..1004), so two runs
print the same line. All draws are standard normal in float64, converted to the requested dtype last, so
a float32 case holds the same numbers as its float64 twin.
"""

from __future__ import annotations

import torch


def normal(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normal entries of the given shape, drawn in float64 and returned in ``dtype``."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def spd(gen: torch.Generator, C: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A random symmetric positive definite (C, C) matrix A A^T / C + I / 2 (A is C x 2C): its diagonal
    is far from 1, so a forgotten normalization shows."""
    A = normal(gen, C, 2 * C)
    return (A @ A.T / C + 0.5 * torch.eye(C, dtype=torch.float64)).to(dtype)


def correlated(gen: torch.Generator, C: int, N: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(C, N) features with correlated channels, a mean far from 0 and a covariance far from I."""
    A = normal(gen, C, C) / C**0.5 + 0.7 * torch.eye(C, dtype=torch.float64)
    mu = 2 * normal(gen, C, 1)
    return (A @ normal(gen, C, N) + mu).to(dtype)


def singular(gen: torch.Generator, C: int, N: int) -> torch.Tensor:
    """(C, N) content with N < C and a dead (constant) channel: a singular covariance."""
    F = correlated(gen, C, N)
    F[-1] = 0.25
    return F


def maps(
    gen: torch.Generator, B: int, C: int, H: int, W: int, dtype: torch.dtype, tiny: bool = False
) -> torch.Tensor:
    """(B, C, H, W) maps with a different mean and std for every sample and channel (distinct "styles").

    ``tiny`` makes channel 0 of every sample vary by ~3e-3 (variance ~1e-5 = eps), where eps matters.
    """
    scale = torch.exp(normal(gen, B, C, 1, 1))
    shift = 2 * normal(gen, B, C, 1, 1)
    if tiny:  # centred near 0, so that float32 keeps its digits
        scale[:, 0], shift[:, 0] = 3e-3, 1e-3
    return (normal(gen, B, C, H, W) * scale + shift).to(dtype)
