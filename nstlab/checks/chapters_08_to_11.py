"""Checks of the "Your turn" cells of chapters 08 to 11.

- Chapter 08: the block-diagonal Gram matrix with a last, smaller block stored zero-padded to B x B (as
  :func:`nstlab.stats.block_diag_gram` stores it), and the memory count in the library's call form.
- Chapter 09: zero insertion, the first step of a stride-s transposed convolution
  (:func:`nstlab.artifacts.zero_insertion`).
- Chapter 10: one level of the feed-forward transfer, g_l(T(f_l(x), f_l(s))) with the shipped decoders
  (:func:`nstlab.decoders.level_transfer`), and the AdaIN layer in the call form of set 12's check.
- Chapter 11: luminance-only colour preservation in the call form of set 13's check.

The ``*_reference`` functions are the library's versions with the signature of the student's function:
the ``library=`` of :func:`nstlab.checks.your_turn`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .. import color, decoders, stats, transforms
from ._core import verdict
from ._random import normal

# ----------------------------------------------------------------------------------------------------
# Chapter 08: the block-diagonal Gram matrix and its memory
# ----------------------------------------------------------------------------------------------------

_DTYPE_OF_ITEMSIZE = {2: torch.float16, 4: torch.float32, 8: torch.float64}


def gram_memory_reference(C: int, block_size: int | None, itemsize: int) -> int:
    """Bytes of one Gram matrix, C^2 itemsize (``block_size`` None), or of its ceil(C/B) padded B x B blocks:
    :func:`nstlab.stats.gram_memory_bytes` with the dtype of ``itemsize`` bytes (2, 4 or 8)."""
    return stats.gram_memory_bytes(C, block_size=block_size, dtype=_DTYPE_OF_ITEMSIZE[itemsize])


def _grams(M: Tensor, N: int) -> Tensor:
    """M M^T / N for a (K, B, N) stack of blocks."""
    return M @ M.transpose(-1, -2) / N


def _padding_hint(student_fn: Callable[..., Any]) -> Callable[..., Any]:
    """The student's function, its error on a channel count that B does not divide explained."""

    @functools.wraps(student_fn)
    def run(F: Tensor, B: int) -> Any:
        try:
            return student_fn(F, B)
        except NotImplementedError:
            raise
        except Exception as err:
            if F.shape[0] % B == 0:
                raise
            raise RuntimeError(
                f"{err} (here C = {F.shape[0]} is not a multiple of B = {B}: append zero channels up to "
                "ceil(C/B) B first, so that the last, smaller block is stored padded to B x B)"
            ) from err

    return run


def check_block_gram_padded(student_fn: Callable[..., Any]) -> bool:
    """``block_diag_gram(F, B)`` of a (C, N) matrix: the ceil(C/B) diagonal blocks F_k F_k^T / N of B
    consecutive channels, (ceil(C/B), B, B); when B does not divide C the last block is padded with zero
    rows and columns."""
    gen = torch.Generator().manual_seed(801)
    cases = [
        (normal(gen, 8, 10), 4),
        (normal(gen, 12, 6, dtype=torch.float32), 3),
        (normal(gen, 10, 7), 4),
        (normal(gen, 7, 9, dtype=torch.float32), 3),
    ]

    def full(F: Tensor) -> Tensor:
        return F @ F.T / F.shape[1]

    def kept_full_blocks(F: Tensor, B: int) -> Tensor:
        return stats.block_diag_gram(F[: F.shape[0] // B * B], B)

    mistakes = {
        "returned the full (C, C) Gram matrix: keep only the diagonal blocks, shape (ceil(C/B), B, B)": (
            lambda F, B: full(F)
        ),
        "dropped the last, smaller block: C // B blocks leave the last C mod B channels out; there are "
        "ceil(C/B) blocks, the last one padded with zeros to B x B": kept_full_blocks,
        "wrong reshape: G.reshape(-1, B, B) cuts rows of G into pieces; take the diagonal blocks "
        "G[kB:(k+1)B, kB:(k+1)B] (or reshape F to (C/B, B, N) first)": (
            lambda F, B: full(F).reshape(-1, B, B)[: F.shape[0] // B]
        ),
        "channels grouped with a stride (F.reshape(B, C/B, N)): a block holds B consecutive channels": (
            lambda F, B: _grams(F.reshape(B, F.shape[0] // B, -1).transpose(0, 1), F.shape[1])
        ),
        "normalization: did not divide by N": lambda F, B: stats.block_diag_gram(F, B, normalize="none"),
        "normalization: divided by C*N instead of N": (
            lambda F, B: stats.block_diag_gram(F, B, normalize="cn")
        ),
    }
    return verdict("block_diag_gram", _padding_hint(student_fn), stats.block_diag_gram, cases, mistakes)


# ----------------------------------------------------------------------------------------------------
# Chapter 09: zero insertion
# ----------------------------------------------------------------------------------------------------


def _spread(x: Tensor, s: int, length: int, offset: int = 0) -> Tensor:
    """x[i] at position offset + s i of a zero signal of ``length``."""
    out = x.new_zeros(length)
    out[offset::s][: x.shape[0]] = x
    return out


def check_zero_insertion(student_fn: Callable[..., Any]) -> bool:
    """``zero_insertion(x, s)`` of a 1-D signal (L,): input pixel i at position s i and s - 1 zeros between
    neighbours, shape ((L - 1) s + 1,), in x's dtype."""
    gen = torch.Generator().manual_seed(901)
    cases = [
        (normal(gen, 5), 2),
        (normal(gen, 4, dtype=torch.float32), 3),
        (normal(gen, 3), 4),
        (normal(gen, 6), 1),
    ]
    mistakes = {
        "s - 1 zeros after every pixel, the last one too: the zeros go only between neighbours, so the "
        "result has (L - 1) s + 1 entries and ends with x[-1]": lambda x, s: _spread(x, s, x.shape[0] * s),
        "zeros before every pixel: input pixel i lands at s i, so the result starts with x[0]": (
            lambda x, s: _spread(x, s, x.shape[0] * s, offset=s - 1)
        ),
        "inserted s zeros between neighbours: a stride s leaves s - 1 zeros (pixel i at s i)": (
            lambda x, s: _spread(x, s + 1, (x.shape[0] - 1) * (s + 1) + 1)
        ),
        "repeated every pixel (nearest upsampling): zero insertion fills the gaps with zeros": [
            lambda x, s: x.repeat_interleave(s)[: (x.shape[0] - 1) * s + 1],
            lambda x, s: x.repeat_interleave(s),
        ],
    }
    return verdict(
        "zero_insertion",
        student_fn,
        lambda x, s: _spread(x, s, (x.shape[0] - 1) * s + 1),
        cases,
        mistakes,
        keep_dtype=True,
    )


# ----------------------------------------------------------------------------------------------------
# Chapter 10: the AdaIN layer and one level of the feed-forward transfer
# ----------------------------------------------------------------------------------------------------


def adain_layer_reference(content: Tensor, style: Tensor, eps: float) -> Tensor:
    """AdaIN of (B, C, H, W) feature maps with eps in sqrt(var + eps): :func:`nstlab.transforms.adain`."""
    return transforms.adain(content, style, eps=eps)


def one_level_reference(x: Tensor, s: Tensor, decoder: decoders.Decoder, method: str = "adain") -> Tensor:
    """One level of the feed-forward transfer at the decoder's layer l, g_l(T(f_l(x), f_l(s))) with T AdaIN
    or WCT, clamped to [0, 1] and cropped to x's size: :func:`nstlab.decoders.level_transfer`."""
    return decoders.level_transfer(x, [decoders.encode(s, decoder.layer)], decoder, method)


def _level(x: Tensor, s: Tensor, decoder: decoders.Decoder, method: str, wrong: str = "") -> Tensor:
    """One level with at most one mistake: "none" (no transform), "swap" (content and style exchanged in
    T), "adain" (method ignored), "uncropped" (not cropped), "raw" (the decoder called directly: neither
    cropped nor clamped)."""
    f_x, f_s = decoders.encode(x, decoder.layer), decoders.encode(s, decoder.layer)
    if wrong == "swap":
        f_x, f_s = f_s, f_x
    transform = transforms.wct if method == "wct" and wrong != "adain" else transforms.adain
    t = f_x if wrong == "none" else transform(f_x, f_s, eps=decoders.EPS)
    if wrong == "raw":
        with torch.no_grad():
            return decoder(t)
    return decoders.decode(t, decoder, size=None if wrong == "uncropped" else tuple(x.shape[-2:]))


def check_one_level(student_fn: Callable[..., Any]) -> bool:
    """``one_level(x, s, decoder, method)``: encode x and s at the decoder's layer, T = AdaIN (method
    "adain") or WCT ("wct") with eps = decoders.EPS, decode with decoders.decode cropped to x's (H, W)."""
    gen = torch.Generator().manual_seed(1001)

    def picture(h: int, w: int) -> Tensor:
        return torch.rand(1, 3, h, w, generator=gen)

    deep = decoders.shipped_decoder("resize", "relu3_1", "cpu", kind="reconstruct")
    shallow = decoders.shipped_decoder("resize", "relu2_1", "cpu", kind="reconstruct")
    cases = [
        (picture(30, 26), picture(30, 26), deep, "adain"),
        (picture(21, 24), picture(24, 20), shallow, "wct"),
    ]

    def wrong(kind: str) -> Callable[..., Tensor]:
        return lambda x, s, decoder, method: _level(x, s, decoder, method, kind)

    mistakes = {
        "no transform: that decodes the content's own features (a reconstruction); decode "
        "T(f_l(x), f_l(s))": wrong("none"),
        "content and style swapped in the transform: T(f_l(x), f_l(s)) gives x's features the style's "
        "statistics": wrong("swap"),
        "method ignored: method='wct' uses transforms.wct (the full covariance), method='adain' AdaIN": (
            wrong("adain")
        ),
        "not cropped: the encoder's poolings round odd sizes up; decode with decoders.decode(t, decoder, "
        "size=x's (H, W)), which also clamps to [0, 1]": [wrong("uncropped"), wrong("raw")],
    }
    return verdict("one_level", student_fn, one_level_reference, cases, mistakes, atol=1e-5)


# ----------------------------------------------------------------------------------------------------
# Chapter 11: luminance-only colour preservation
# ----------------------------------------------------------------------------------------------------


def preserve_color_reference(content: Tensor, style: Tensor, transfer: Callable[..., Tensor]) -> Tensor:
    """Luminance-only transfer around ``transfer(content, style)``: the ``"luminance"`` mode of
    :mod:`nstlab.color` (:func:`nstlab.color.inputs`, then :func:`nstlab.color.output`)."""
    return color.output(transfer(*color.inputs(content, style, "luminance")), content, "luminance")
