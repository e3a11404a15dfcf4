"""Seeded random inputs shared by the tests (float64 unless told otherwise)."""

from __future__ import annotations

import torch


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normal values of the given shape from their own seeded generator."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def correlated(C: int, N: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Features (C, N) with a random full covariance and a non-zero mean."""
    mix = rand(C, C, seed=seed + 1000)
    return (mix @ rand(C, N, seed=seed) + rand(C, 1, seed=seed + 2000)).to(dtype)
