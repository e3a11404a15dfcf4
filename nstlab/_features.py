"""Shape handling and validation shared by ``stats``, ``transforms`` and ``losses``.

The text writes a layer's activations as a *feature matrix* F in R^{C x N} (C channels, N = H*W
positions). Torch code holds *feature maps* (B, C, H, W). Every public function accepts both: a (C, N)
matrix gives an unbatched result, a (B, C, H, W) map a batched one.
"""

from __future__ import annotations

import torch
from torch import Tensor


def as_matrices(F: Tensor, name: str = "F", min_positions: int = 1) -> tuple[Tensor, bool]:
    """Return ``(M, batched)`` with M of shape (B, C, N) and check the values are usable.

    (C, N) -> (1, C, N) with ``batched=False``; (B, C, H, W) -> (B, C, H*W) with ``batched=True``.
    Raises ValueError on any other shape, on fewer than ``min_positions`` positions, and on NaN or inf.
    """
    if not isinstance(F, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(F).__name__}")
    if F.ndim == 2:
        M, batched = F.unsqueeze(0), False
    elif F.ndim == 4:
        M, batched = F.flatten(2), True
    else:
        raise ValueError(
            f"{name} must be a (C, N) feature matrix or a (B, C, H, W) feature map, got shape "
            f"{tuple(F.shape)}; use F.flatten(1) for a single (C, H, W) map or F[None] to add a batch axis"
        )
    if not F.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {F.dtype}; call .float() first")
    if M.shape[-1] < min_positions:
        raise ValueError(
            f"{name} has N = {M.shape[-1]} spatial positions but at least {min_positions} are needed "
            "(a statistic over positions needs several samples); use a larger image or a shallower layer"
        )
    check_finite(F, name)
    return M, batched


def check_finite(x: Tensor, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or inf (detached check, no graph)."""
    if not torch.isfinite(x.detach()).all():
        n_bad = int((~torch.isfinite(x.detach())).sum())
        raise ValueError(
            f"{name} contains {n_bad} NaN or inf value(s); check the input image and the learning rate "
            "(a diverged optimization produces NaN features)"
        )


def same_channels(X: Tensor, Y: Tensor, names: tuple[str, str] = ("X", "Y")) -> None:
    """Raise ValueError when the channel axes of two (B, C, N) stacks differ."""
    if X.shape[-2] != Y.shape[-2]:
        raise ValueError(
            f"channel count mismatch: {names[0]} has C = {X.shape[-2]}, {names[1]} has C = {Y.shape[-2]}; "
            "compare features taken from the same layer"
        )


def unbatch(x: Tensor, batched: bool) -> Tensor:
    """Drop the leading batch axis added by :func:`as_matrices` for an unbatched input."""
    return x if batched else x[0]
