"""Checks of set 01 (Gram matrix, block-diagonal Gram, memory): each passes nstlab's reference and a correct
implementation written differently, and names every typical mistake (written here by hand)."""

from __future__ import annotations

import torch
from check_harness import check_tests

from nstlab import checks, stats


def gram_einsum(F):
    return torch.einsum("cn,dn->cd", F, F) / F.shape[1]


def block_gram_loop(F, B):
    G = F @ F.T / F.shape[1]
    return torch.stack([G[k : k + B, k : k + B] for k in range(0, F.shape[0], B)])


def gram_memory_formula(C, block_size=None, itemsize=4):
    return (C * C if block_size is None else -(-C // block_size) * block_size**2) * itemsize


def _grams(F):
    return F @ F.transpose(-1, -2) / F.shape[-1]


CORRECT = [
    (checks.check_gram, stats.gram),
    (checks.check_gram, gram_einsum),
    (checks.check_block_diag_gram, stats.block_diag_gram),
    (checks.check_block_diag_gram, block_gram_loop),
    (
        checks.check_gram_memory,
        lambda C, B, it: stats.gram_memory_bytes(C, B, {2: torch.half, 4: torch.float, 8: torch.double}[it]),
    ),
    (checks.check_gram_memory, gram_memory_formula),
]

MISTAKES = [
    ("gram F^T F", checks.check_gram, lambda F: F.T @ F / F.shape[1], "F^T F"),
    ("gram F^T F unnormalized", checks.check_gram, lambda F: F.T @ F, "F^T F"),
    ("gram /CN", checks.check_gram, lambda F: F @ F.T / F.numel(), "C*N"),
    ("gram no division", checks.check_gram, lambda F: F @ F.T, "did not divide by N"),
    (
        "block off-diagonal",
        checks.check_block_diag_gram,
        lambda F, B: torch.stack([(F @ F.T / F.shape[1])[k : k + B, :B] for k in range(0, F.shape[0], B)]),
        "off-diagonal blocks",
    ),
    (
        "block reshape of G",
        checks.check_block_diag_gram,
        lambda F, B: (F @ F.T / F.shape[1]).reshape(-1, B, B)[: F.shape[0] // B],
        "wrong reshape",
    ),
    (
        "block strided channels",
        checks.check_block_diag_gram,
        lambda F, B: _grams(torch.stack([F[k :: F.shape[0] // B] for k in range(F.shape[0] // B)])),
        "consecutive channels",
    ),
    ("block full Gram", checks.check_block_diag_gram, lambda F, B: F @ F.T / F.shape[1], "full (C, C)"),
    (
        "block /BN",
        checks.check_block_diag_gram,
        lambda F, B: _grams(F.reshape(-1, B, F.shape[1])) / B,
        "normalization: divided by B*N",
    ),
    (
        "block no /N",
        checks.check_block_diag_gram,
        lambda F, B: _grams(F.reshape(-1, B, F.shape[1])) * F.shape[1],
        "normalization: did not divide by N",
    ),
    (
        "memory one block",
        checks.check_gram_memory,
        lambda C, B, it=4: (B if B else C) ** 2 * it,
        "one block only",
    ),
    ("memory full C^2", checks.check_gram_memory, lambda C, B, it=4: C * C * it, "full C^2"),
    ("memory numbers", checks.check_gram_memory, lambda C, B, it=4: C * (B or C), "numbers, not bytes"),
    (
        "memory full blocks only",
        checks.check_gram_memory,
        lambda C, B, it=4: ((C // B) * B * B if B else C * C) * it,
        "only the full blocks",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)
