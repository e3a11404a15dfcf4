"""Statistics of feature matrices: Gram matrices and the statistics built on them.

Notation of the text: a layer's activations F in R^{C x N}, N = H*W positions, column f_i the
C-dimensional feature vector at position i.
"""

from __future__ import annotations

from torch import Tensor

from ._features import as_matrices, unbatch

GRAM_NORMALIZATIONS = ("n", "cn", "none")


def gram(F: Tensor, normalize: str = "n") -> Tensor:
    """Gram matrix G = F F^T / Z of a feature matrix (C, N) or a feature map (B, C, H, W).

    Z = N for ``"n"`` (G = (1/N) sum_i f_i f_i^T, the uncentred second moment, as in the MMD view of
    Li et al. 2017, "Demystifying Neural Style Transfer"), Z = C*N for ``"cn"`` (the normalized form of
    the text) and Z = 1 for ``"none"`` (Gatys et al. 2016, "Image Style Transfer Using CNNs", eq. 3).
    G_ij is the inner product of channels i and j over positions: how strongly they fire together.

    Returns (C, C) for a matrix input and (B, C, C) for a map input, in the input's dtype and device.
    """
    M, batched = as_matrices(F)
    C, N = M.shape[-2:]
    if normalize == "n":
        Z = N
    elif normalize == "cn":
        Z = C * N
    elif normalize == "none":
        Z = 1
    else:
        raise ValueError(f"unknown normalize={normalize!r}; choose one of {GRAM_NORMALIZATIONS}")
    return unbatch(M @ M.transpose(-1, -2) / Z, batched)
