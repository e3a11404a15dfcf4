"""Checks of the "Your turn" cells of chapters 08 to 11: each passes nstlab's reference and a correct
implementation written differently, and names every typical mistake (written here by hand)."""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from check_harness import check_tests

from nstlab import artifacts, checks, color, decoders, stats, transforms


def block_gram_loop(F, B):
    C, N = F.shape
    padded = torch.cat([F, F.new_zeros(-C % B, N)])
    return torch.stack([padded[k : k + B] @ padded[k : k + B].T / N for k in range(0, padded.shape[0], B)])


def zero_insertion_index(x, s):
    out = torch.zeros((x.shape[0] - 1) * s + 1, dtype=x.dtype)
    out[torch.arange(x.shape[0]) * s] = x
    return out


def zero_insertion_conv(x, s):
    # a transposed convolution with the one-tap kernel [1] is exactly zero insertion
    return nnf.conv_transpose1d(x[None, None], torch.ones(1, 1, 1, dtype=x.dtype), stride=s)[0, 0]


def one_level_written_out(x, s, decoder, method="adain"):
    f_x, f_s = decoders.encode(x, decoder.layer), decoders.encode(s, decoder.layer)
    if method == "adain":
        mu_x, mu_s = f_x.mean((2, 3), keepdim=True), f_s.mean((2, 3), keepdim=True)
        sd_x = (f_x.var((2, 3), keepdim=True, correction=0) + decoders.EPS).sqrt()
        sd_s = (f_s.var((2, 3), keepdim=True, correction=0) + decoders.EPS).sqrt()
        t = sd_s * (f_x - mu_x) / sd_x + mu_s
    else:
        t = transforms.wct(f_x, f_s, eps=decoders.EPS)
    return decoders.decode(t, decoder, size=tuple(x.shape[-2:]))


def _level(x, s, decoder, method, swap=False, transform=None, crop=True):
    f_x, f_s = decoders.encode(x, decoder.layer), decoders.encode(s, decoder.layer)
    if swap:
        f_x, f_s = f_s, f_x
    transform = transform or (transforms.wct if method == "wct" else transforms.adain)
    return decoders.decode(
        transform(f_x, f_s, eps=decoders.EPS), decoder, tuple(x.shape[-2:]) if crop else None
    )


def preserve_color_yiq(content, style, transfer):
    y_c, y_s = color.luminance(content), color.luminance(style)
    mu_c, sd_c = y_c.mean((2, 3), keepdim=True), y_c.std((2, 3), keepdim=True, correction=0)
    mu_s, sd_s = y_s.mean((2, 3), keepdim=True), y_s.std((2, 3), keepdim=True, correction=0)
    gray_style = (sd_c / sd_s * (y_s - mu_s) + mu_c).clamp(0, 1).expand(-1, 3, -1, -1)
    out = transfer(y_c.expand(-1, 3, -1, -1), gray_style)
    iq = color.rgb_to_yiq(content)[:, 1:]
    return color.yiq_to_rgb(torch.cat([color.luminance(out), iq], dim=1)).clamp(0, 1)


CORRECT = [
    (checks.check_block_gram_padded, stats.block_diag_gram),
    (checks.check_block_gram_padded, block_gram_loop),
    (checks.check_gram_memory, checks.gram_memory_reference),
    (checks.check_zero_insertion, artifacts.zero_insertion),
    (checks.check_zero_insertion, zero_insertion_index),
    (checks.check_zero_insertion, zero_insertion_conv),
    (checks.check_one_level, checks.one_level_reference),
    (checks.check_one_level, one_level_written_out),
    (checks.check_adain_layer, checks.adain_layer_reference),
    (checks.check_preserve_color, checks.preserve_color_reference),
    (checks.check_preserve_color, preserve_color_yiq),
]


def _blocks(F, B):
    return stats.block_diag_gram(F, B)


MISTAKES = [
    (
        "block full Gram",
        checks.check_block_gram_padded,
        lambda F, B: F @ F.T / F.shape[1],
        "full (C, C)",
    ),
    (
        "block last block dropped",
        checks.check_block_gram_padded,
        lambda F, B: torch.stack(
            [F[k : k + B] @ F[k : k + B].T / F.shape[1] for k in range(0, F.shape[0] - B + 1, B)]
        ),
        "dropped the last, smaller block",
    ),
    (
        "block no padding",
        checks.check_block_gram_padded,
        lambda F, B: (lambda M: M @ M.transpose(-1, -2) / F.shape[1])(F.reshape(-1, B, F.shape[1])),
        "not a multiple of B",
    ),
    (
        "block reshape of G",
        checks.check_block_gram_padded,
        lambda F, B: (F @ F.T / F.shape[1]).reshape(-1, B, B)[: F.shape[0] // B],
        "wrong reshape",
    ),
    (
        "block strided channels",
        checks.check_block_gram_padded,
        lambda F, B: torch.stack(
            [F[k :: F.shape[0] // B] @ F[k :: F.shape[0] // B].T / F.shape[1] for k in range(F.shape[0] // B)]
        ),
        "consecutive channels",
    ),
    (
        "block no /N",
        checks.check_block_gram_padded,
        lambda F, B: _blocks(F, B) * F.shape[1],
        "divide by N",
    ),
    ("block /CN", checks.check_block_gram_padded, lambda F, B: _blocks(F, B) / F.shape[0], "C*N"),
    (
        "zeros after the last pixel",
        checks.check_zero_insertion,
        lambda x, s: torch.stack([x] + [torch.zeros_like(x)] * (s - 1), dim=1).flatten(),
        "only between neighbours",
    ),
    (
        "zeros before each pixel",
        checks.check_zero_insertion,
        lambda x, s: torch.stack([torch.zeros_like(x)] * (s - 1) + [x], dim=1).flatten(),
        "starts with x[0]",
    ),
    (
        "s zeros",
        checks.check_zero_insertion,
        lambda x, s: artifacts.zero_insertion(x, stride=s + 1),
        "leaves s - 1 zeros",
    ),
    (
        "repeated pixels",
        checks.check_zero_insertion,
        lambda x, s: x.repeat_interleave(s)[: (x.shape[0] - 1) * s + 1],
        "nearest upsampling",
    ),
    (
        "zero insertion float32",
        checks.check_zero_insertion,
        lambda x, s: zero_insertion_index(x, s).float(),
        "dtype",
    ),
    (
        "one level, no transform",
        checks.check_one_level,
        lambda x, s, decoder, method="adain": decoders.reconstruct(x, decoder),
        "no transform",
    ),
    (
        "one level, swapped",
        checks.check_one_level,
        lambda x, s, d, m="adain": _level(x, s, d, m, swap=True),
        "swapped",
    ),
    (
        "one level, method ignored",
        checks.check_one_level,
        lambda x, s, d, m="adain": _level(x, s, d, m, transform=transforms.adain),
        "method ignored",
    ),
    (
        "one level, no crop",
        checks.check_one_level,
        lambda x, s, d, m="adain": _level(x, s, d, m, crop=False),
        "cropped",
    ),
    (
        "one level, raw decoder",
        checks.check_one_level,
        lambda x, s, d, m="adain": d(
            transforms.adain(decoders.encode(x, d.layer), decoders.encode(s, d.layer))
        ),
        "not cropped",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)
