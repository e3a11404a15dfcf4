"""Shape handling shared by ``stats``, ``transforms`` and ``losses`` (checks: :mod:`nstlab.validation`).

The text writes a layer's activations as a *feature matrix* F in R^{C x N} (C channels, N = H*W
positions). Torch code holds *feature maps* (B, C, H, W). Every public function accepts both: a (C, N)
matrix gives an unbatched result, a (B, C, H, W) map a batched one.
"""

from __future__ import annotations

from torch import Tensor

from .validation import TensorSpec, check_choice, check_finite, check_tensor
from .validation import check_float as check_number

__all__ = ["as_matrices", "as_pair", "check_choice", "check_eps", "check_fraction", "check_finite"]


def as_matrices(F: Tensor, name: str = "F", min_positions: int = 1) -> tuple[Tensor, bool]:
    """Return ``(M, batched)`` with M of shape (B, C, N) and check the values are usable.

    (C, N) -> (1, C, N) with ``batched=False``; (B, C, H, W) -> (B, C, H*W) with ``batched=True``.
    Raises ValueError on any other shape, on fewer than ``min_positions`` positions, and on NaN or inf.
    """
    check_tensor(F, name, TensorSpec(floating=False, finite=False))
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
