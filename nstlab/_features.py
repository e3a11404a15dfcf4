"""Shape handling and validation shared by ``stats``, ``transforms`` and ``losses``.

The text writes a layer's activations as a *feature matrix* F in R^{C x N} (C channels, N = H*W
positions). Torch code holds *feature maps* (B, C, H, W). Every public function accepts both: a (C, N)
matrix gives an unbatched result, a (B, C, H, W) map a batched one.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor


def as_matrices(F: Tensor, name: str = "F", min_positions: int = 1) -> tuple[Tensor, bool]:
    """Return ``(M, batched)`` with M of shape (B, C, N) and check the values are usable.

    (C, N) -> (1, C, N) with ``batched=False``; (B, C, H, W) -> (B, C, H*W) with ``batched=True``.
    Raises ValueError on any other shape, on fewer than ``min_positions`` positions, and on NaN or inf.
    """
    check_tensor(F, name)
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
    if 0 in M.shape[:2]:
        raise ValueError(f"{name} has shape {tuple(F.shape)}: an empty batch or no channels; pass features")
    if M.shape[-1] < min_positions:
        raise ValueError(
            f"{name} has N = {M.shape[-1]} spatial positions but at least {min_positions} are needed "
            "(a statistic over positions needs several samples); use a larger image or a shallower layer"
        )
    check_finite(F, name)
    return M, batched


def check_tensor(x: object, name: str) -> None:
    """Raise TypeError unless ``x`` is a torch.Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; use torch.as_tensor(...)")


def check_number(value: object, name: str) -> float:
    """``value`` as a float; TypeError unless it is a real number (or a one-element real tensor)."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    return float(value)


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


def as_pair(
    X: Tensor, Y: Tensor, names: tuple[str, str] = ("X", "Y"), min_positions: int = 1
) -> tuple[Tensor, Tensor, bool]:
    """Return ``(MX, MY, batched)``, two (B, C, n) stacks with a common batch size B.

    Checks both like :func:`as_matrices`, checks the channel counts agree, broadcasts a batch of one
    against a larger batch, and casts Y to X's dtype and device (X is the generated image's side, whose
    dtype a loss keeps). The numbers of positions may differ. ``batched`` is True when either input was
    a (B, C, H, W) map.
    """
    MX, bx = as_matrices(X, names[0], min_positions)
    MY, by = as_matrices(Y, names[1], min_positions)
    same_channels(MX, MY, names)
    nb_x, nb_y = MX.shape[0], MY.shape[0]
    if nb_x != nb_y and 1 not in (nb_x, nb_y):
        raise ValueError(
            f"batch size mismatch: {names[0]} has B = {nb_x}, {names[1]} has B = {nb_y}; "
            "use equal batches or a batch of one on either side"
        )
    B = max(nb_x, nb_y)
    MY = MY.to(dtype=MX.dtype, device=MX.device)
    return MX.expand(B, -1, -1), MY.expand(B, -1, -1), bx or by


def like_input(M: Tensor, F: Tensor) -> Tensor:
    """Reshape a (B, C, N) stack back to the layout of ``F``: (C, N) or (B, C, H, W)."""
    if F.ndim == 2:
        return M[0]
    return M.reshape(M.shape[0], *F.shape[1:])


def check_eps(eps: float, name: str = "eps", allow_zero: bool = False) -> None:
    """Raise ValueError unless ``eps`` is a finite number > 0 (or >= 0 with ``allow_zero``)."""
    eps = check_number(eps, name)
    bad = not (eps >= 0 if allow_zero else eps > 0) or eps != eps or eps == float("inf")
    if bad:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{name} must be a finite number {bound}, got {eps!r}; it keeps a division by a standard "
            "deviation or an inverse square root finite (1e-5 is the usual value)"
        )


def check_fraction(value: float, name: str) -> None:
    """Raise ValueError unless ``0 <= value <= 1`` (a shrinkage intensity or a blending weight)."""
    value = check_number(value, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got {value!r}; 0 keeps the first term, 1 uses only the second"
        )


def check_choice(value: str, choices: tuple[str, ...], name: str) -> None:
    """Raise ValueError naming the valid options when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name}={value!r}; choose one of {choices}")
