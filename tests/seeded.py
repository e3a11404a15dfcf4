"""Seeded random inputs shared by the tests (float64 unless told otherwise), and the list of the feature
functions they are fed to."""

from __future__ import annotations

import inspect

import torch

from nstlab import losses, stats, transforms, validation


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normal values of the given shape from their own seeded generator."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def correlated(C: int, N: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Features (C, N) with a random full covariance and a non-zero mean."""
    mix = rand(C, C, seed=seed + 1000)
    return (mix @ rand(C, N, seed=seed) + rand(C, 1, seed=seed + 2000)).to(dtype)


def tensor_functions(n_tensors: int) -> dict[str, object]:
    """The public functions of ``stats``, ``transforms`` and ``losses`` (their ``__all__``) whose required
    parameters are ``n_tensors`` tensors: a new one is fuzzed without being listed here."""
    found = {}
    for mod in (stats, transforms, losses):
        for name in mod.__all__:
            fn = getattr(mod, name)
            if inspect.isclass(fn) or not callable(fn):
                continue
            hints = validation.type_hints(inspect.unwrap(fn))
            required = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
            if len(required) == n_tensors and all(hints.get(p.name) is torch.Tensor for p in required):
                found[f"{mod.__name__.split('.')[-1]}.{name}"] = fn
    return found
