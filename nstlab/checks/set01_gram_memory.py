"""Checks of exercise set 01: the Gram matrix G = F F^T / N, its block-diagonal form, and their memory.

The block form keeps the C/B diagonal blocks G^(k) = F_k F_k^T / N of B consecutive channels each: C B
numbers instead of C^2 (the memory section of the text; :func:`nstlab.stats.block_diag_gram`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import stats
from ._core import verdict
from ._random import normal


def check_gram(student_fn: Callable[..., Any]) -> bool:
    """``gram(F)`` of a (C, N) feature matrix: G = F F^T / N, shape (C, C)."""
    gen = torch.Generator().manual_seed(101)
    cases = [(normal(gen, 3, 7),), (normal(gen, 8, 20, dtype=torch.float32),), (normal(gen, 16, 5),)]

    def ftf(Z: Callable[[int, int], int]) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda F: F.T @ F / Z(*F.shape)

    transposed = [ftf(lambda C, N: N), ftf(lambda C, N: 1), ftf(lambda C, N: C), ftf(lambda C, N: C * N)]

    mistakes = {
        "computed F^T F (positions x positions, shape (N, N)) instead of F F^T (channels x channels, "
        "shape (C, C))": transposed,
        "divided by C*N instead of N (the text's normalized form; this exercise uses G = F F^T / N)": (
            lambda F: stats.gram(F, normalize="cn")
        ),
        "did not divide by N: G = F F^T / N averages over the N positions": (
            lambda F: stats.gram(F, normalize="none")
        ),
        "divided by C instead of N: average over the N positions": lambda F: F @ F.T / F.shape[0],
    }
    return verdict("gram", student_fn, stats.gram, cases, mistakes, grad_of=(0,))


def _full_gram(F: torch.Tensor) -> torch.Tensor:
    return F @ F.T / F.shape[1]


def _strided_blocks(F: torch.Tensor, B: int) -> torch.Tensor:
    Fk = F.reshape(B, F.shape[0] // B, -1).transpose(0, 1)
    return Fk @ Fk.transpose(-1, -2) / F.shape[1]


def _unnormalized_blocks(F: torch.Tensor, B: int) -> torch.Tensor:
    return stats.block_diag_gram(F, B, normalize="none")


def check_block_diag_gram(student_fn: Callable[..., Any]) -> bool:
    """``block_diag_gram(F, B)``: the C//B diagonal blocks F_k F_k^T / N of the Gram matrix, (C//B, B, B)."""
    gen = torch.Generator().manual_seed(102)
    cases = [(normal(gen, 8, 10), 4), (normal(gen, 12, 6, dtype=torch.float32), 3), (normal(gen, 6, 9), 2)]
    G, blocks = _full_gram, _unnormalized_blocks

    mistakes = {
        "returned the full (C, C) Gram matrix; keep only the C//B diagonal blocks, shape (C//B, B, B)": (
            lambda F, B: G(F)
        ),
        "took off-diagonal blocks: block k pairs channels kB..(k+1)B-1 with themselves, "
        "G[kB:(k+1)B, kB:(k+1)B]": [
            lambda F, B: G(F).reshape(F.shape[0] // B, B, F.shape[0] // B, B)[:, :, 0, :],
            lambda F, B: G(F).reshape(F.shape[0] // B, B, F.shape[0] // B, B)[0, :, :, :].transpose(0, 1),
        ],
        "wrong reshape: G.reshape(-1, B, B) cuts rows of G into pieces; slice the diagonal blocks "
        "G[kB:(k+1)B, kB:(k+1)B] (or reshape F to (C//B, B, N) first)": [
            lambda F, B: G(F).reshape(-1, B, B)[: F.shape[0] // B],
            lambda F, B: G(F).reshape(-1, B, B)[:: F.shape[0] // B + 1],
        ],
        "channels grouped with a stride (F.reshape(B, C//B, N)): a block holds B consecutive channels, "
        "F.reshape(C//B, B, N)": _strided_blocks,
        "normalization: divided by B*N instead of N": lambda F, B: blocks(F, B) / (B * F.shape[1]),
        "normalization: divided by C*N instead of N": lambda F, B: blocks(F, B) / (F.shape[0] * F.shape[1]),
        "normalization: did not divide by N": blocks,
    }
    return verdict("block_diag_gram", student_fn, stats.block_diag_gram, cases, mistakes)


_DTYPE_OF_ITEMSIZE = {2: torch.float16, 4: torch.float32, 8: torch.float64}


def check_gram_memory(student_fn: Callable[..., Any]) -> bool:
    """``gram_memory(C, block_size, itemsize)``: bytes of the full Gram (block_size None) or of its blocks."""
    # (100, 64, 4) and (200, 64, 2): B does not divide C, the last block is stored padded to B x B
    cases = [
        (512, 64, 4),
        (256, 32, 8),
        (1024, 128, 2),
        (100, 64, 4),
        (200, 64, 2),
        (512, None, 4),
        (64, None, 8),
    ]

    def reference(C: int, B: int | None, itemsize: int) -> int:
        return stats.gram_memory_bytes(C, block_size=B, dtype=_DTYPE_OF_ITEMSIZE[itemsize])

    mistakes = {
        # first: on a case where B does not divide C it gives the same bytes as 'one block only'
        "counted only the full blocks (C // B): a last smaller block is stored too, padded to B x B, so "
        "there are ceil(C / B) blocks": lambda C, B, it: (C // B) * B * B * it,
        "counted one block only: there are ceil(C/B) blocks of B*B numbers each": lambda C, B, it: B * B * it,
        "counted the full C^2 matrix: the block form keeps ceil(C/B) blocks of B^2 numbers each": (
            lambda C, B, it: C * C * it
        ),
        "counted numbers, not bytes: multiply by the bytes per number (itemsize)": (
            lambda C, B, it: reference(C, B, it) // it
        ),
        "counted bits, not bytes (1 byte = 8 bits)": lambda C, B, it: 8 * reference(C, B, it),
    }
    return verdict("gram_memory", student_fn, reference, cases, mistakes)
