"""The compute budget switch ``NSTLAB_BUDGET=ci|laptop|gpu`` (default ``laptop``).

Notebooks read image sizes and step counts from here so one setting scales the whole course: CI runs
every chapter with ``ci`` in well under 90 s each, a student's laptop gets pictures worth looking at,
and a GPU gets the full-size runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .validation import PositiveInt, check_fields, checked

__all__ = [
    "Budget",
    "budget",
    "device",
]


@dataclass(frozen=True)
class Budget:
    """Sizes and step counts for one budget level."""

    name: str
    size: int  # long side of a stylized image, pixels
    steps: PositiveInt  # optimization steps of a full stylization
    small_size: int  # long side for sweeps and grids of many runs
    small_steps: int
    max_size: int  # largest long side accepted before downscaling with a warning

    def __post_init__(self) -> None:
        check_fields(self)


BUDGETS = {
    "ci": Budget("ci", size=128, steps=60, small_size=96, small_steps=30, max_size=512),
    "laptop": Budget("laptop", size=256, steps=120, small_size=160, small_steps=80, max_size=1024),
    "gpu": Budget("gpu", size=512, steps=400, small_size=256, small_steps=200, max_size=2048),
}


@checked
def budget(name: str | None = None) -> Budget:
    """The budget named by ``name`` or by ``$NSTLAB_BUDGET`` (default ``laptop``)."""
    name = name or os.environ.get("NSTLAB_BUDGET", "laptop")
    if name not in BUDGETS:
        raise ValueError(f"unknown budget {name!r} (from NSTLAB_BUDGET?); choose one of {sorted(BUDGETS)}")
    return BUDGETS[name]


@checked
def device() -> torch.device:
    """CUDA when available, else CPU (override with ``$NSTLAB_DEVICE``)."""
    name = os.environ.get("NSTLAB_DEVICE")
    if name:
        try:
            return torch.device(name)
        except RuntimeError:
            raise ValueError(
                f"NSTLAB_DEVICE={name!r} is not a torch device; use cpu, cuda, cuda:1 or mps, or unset it"
            ) from None
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
