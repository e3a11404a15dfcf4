"""Checks of exercise set 13: colour preservation (luminance-only transfer) and Reinhard colour normalization.

- Luminance (ITU-R BT.601): Y = 0.299 R + 0.587 G + 0.114 B, the Y of YIQ (not Rec. 709's
  0.2126, 0.7152, 0.0722, which ``skimage.color.rgb2gray`` uses).
- Luminance-only transfer (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017, "Controlling Perceptual
  Factors in Neural Style Transfer", CVPR, sec. 5.1): match the style's luminance to the content's mean and
  std, Y_s' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c; transfer between the gray images; put the result's Y
  together with the content's I and Q; clamp to [0, 1] once, at the end (:mod:`nstlab.color`).
- Reinhard, Ashikhmin, Gooch & Shirley 2001, "Color Transfer between Images": in l-alpha-beta each channel
  of the source takes the target's mean and std, y = (sigma_t / sigma_s)(x - mu_s) + mu_t
  (:func:`nstlab.stain.reinhard`).

Statistics are per image (and per channel), population stds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .. import color, stain, transforms
from ._core import verdict

F64 = torch.float64
REC709 = (0.2126, 0.7152, 0.0722)  # ITU-R BT.709 luma: the HDTV weights
SKIMAGE_GRAY = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray (Rec. 709, rounded differently)
CAST = (0.06, -0.03, 0.02)  # the stand-in transfer's colour cast (RGB), so that its output has chroma


def _weighted(img: Tensor, w: tuple[float, float, float]) -> Tensor:
    """sum_c w_c img_c, (B, 1, H, W)."""
    return (img * torch.tensor(w, dtype=img.dtype).view(1, 3, 1, 1)).sum(1, keepdim=True)


def _images(gen: torch.Generator, b: int, h: int, w: int, power: float = 1.0) -> Tensor:
    """Random pictures in [0, 1], a different tint per sample (``power`` > 1 darkens and skews the values)."""
    tint = 0.5 + 0.5 * torch.rand(b, 3, 1, 1, generator=gen, dtype=F64)
    return (torch.rand(b, 3, h, w, generator=gen, dtype=F64) ** power) * tint


def _night(gen: torch.Generator, b: int, h: int, w: int) -> Tensor:
    """A dark picture with a few bright lights: a long bright tail, so that its luminance matched to a
    brighter, flatter content's leaves [0, 1]."""
    lights = (torch.rand(b, 1, h, w, generator=gen, dtype=F64) < 0.06).to(F64)
    return (0.08 + 0.05 * torch.rand(b, 3, h, w, generator=gen, dtype=F64) + 0.85 * lights).clamp(0, 1)


# ----------------------------------------------------------------------------------------------------
# Task 1: luminance
# ----------------------------------------------------------------------------------------------------


def check_luminance(student_fn: Callable[..., Any]) -> bool:
    """``luminance(img)``: Y = 0.299 R + 0.587 G + 0.114 B of (B, 3, H, W) RGB, shape (B, 1, H, W)."""
    gen = torch.Generator().manual_seed(1310)
    cases = [(_images(gen, 2, 5, 6),), (_images(gen, 1, 7, 4).float(),), (_images(gen, 3, 4, 4, 2.0),)]
    mistakes = {
        "Rec. 709 weights (0.2126, 0.7152, 0.0722; skimage's rgb2gray uses them): YIQ's Y is Rec. 601, "
        "0.299 R + 0.587 G + 0.114 B": [lambda x: _weighted(x, REC709), lambda x: _weighted(x, SKIMAGE_GRAY)],
        "plain average (R + G + B) / 3: the eye weighs green most, 0.299 R + 0.587 G + 0.114 B": (
            lambda x: x.mean(1, keepdim=True)
        ),
        "weights in BGR order: channel 0 is red, weight 0.299": lambda x: _weighted(x, (0.114, 0.587, 0.299)),
        "dropped the channel axis: return (B, 1, H, W) (sum with keepdim=True)": lambda x: color.luminance(x)[
            :, 0
        ],
    }
    return verdict("luminance", student_fn, color.luminance, cases, mistakes, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# Task 2: the style's luminance matched to the content's
# ----------------------------------------------------------------------------------------------------


def _matched(
    style: Tensor,
    content: Tensor,
    w: tuple[float, float, float] = color.REC601,
    dims: tuple[int, ...] = (2, 3),
    correction: int = 0,
    form: str = "ok",
) -> Tensor:
    """A variant of Y_s' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c: statistics over ``dims``; ``form`` "ok",
    "none" (Y_s as it is), "swap" (content moved to the style), "ratio" (sigma_s / sigma_c), "mean"."""
    ys, yc = _weighted(style, w), _weighted(content, w)
    mu_s, sd_s = ys.mean(dims, keepdim=True), ys.std(dims, keepdim=True, correction=correction)
    mu_c, sd_c = yc.mean(dims, keepdim=True), yc.std(dims, keepdim=True, correction=correction)
    if form == "none":
        return ys
    if form == "swap":
        return sd_s / sd_c * (yc - mu_c) + mu_s
    if form == "ratio":
        return sd_s / sd_c * (ys - mu_s) + mu_c
    if form == "mean":
        return ys - mu_s + mu_c
    return sd_c / sd_s * (ys - mu_s) + mu_c


def check_match_luminance(student_fn: Callable[..., Any]) -> bool:
    """``match_luminance(style, content)``: Y_s' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c, (B, 1, H, W),
    mean and population std of each image's luminance (a content batch of one serves every style)."""
    gen = torch.Generator().manual_seed(1320)
    cases = [
        (_images(gen, 2, 6, 5), _images(gen, 2, 5, 4, 0.5)),
        (_images(gen, 1, 8, 6, 2.0), _images(gen, 1, 5, 5)),
        (_images(gen, 3, 5, 5).float(), _images(gen, 1, 6, 7).float()),
    ]
    mistakes = {
        "forgot to match: the style's luminance must first take the content's mean and std": (
            lambda s, c: _matched(s, c, form="none")
        ),
        "roles swapped: move the style's luminance to the content's statistics, not the content's to the "
        "style's": lambda s, c: _matched(s, c, form="swap"),
        "std ratio upside down: scale by sigma_c / sigma_s": lambda s, c: _matched(s, c, form="ratio"),
        "only the mean matched: also scale by sigma_c / sigma_s": lambda s, c: _matched(s, c, form="mean"),
        "unbiased std (divides by N - 1): use the population std, correction=0": (
            lambda s, c: _matched(s, c, correction=1)
        ),
        "statistics over the whole batch: each image has its own mean and std (dims 2, 3)": (
            lambda s, c: _matched(s, c, dims=(0, 2, 3))
        ),
        "Rec. 709 luminance: Y is 0.299 R + 0.587 G + 0.114 B (Rec. 601)": lambda s, c: _matched(
            s, c, REC709
        ),
    }
    reference = lambda s, c: color.match_luminance(s, c)[:, :1]  # noqa: E731
    return verdict("match_luminance", student_fn, reference, cases, mistakes, atol=1e-5)


# ----------------------------------------------------------------------------------------------------
# Task 3: luminance-only transfer
# ----------------------------------------------------------------------------------------------------


def stand_in_transfer(content: Tensor, style: Tensor) -> Tensor:
    """A stand-in for a style transfer, used by the check: the content's layout with the style's channel
    statistics (AdaIN on the pixels), contrast x1.4 about 0.5 (so it strays outside [0, 1], as a decoder's
    raw output does) and a colour cast :data:`CAST` (so its output has chroma of its own)."""
    x = transforms.adain(content, style, eps=1e-8)
    return 1.4 * (x - 0.5) + 0.5 + torch.tensor(CAST, dtype=x.dtype).view(1, 3, 1, 1)


def _gray(y: Tensor) -> Tensor:
    return y.expand(-1, 3, -1, -1)


def _recombine(y: Tensor, iq_from: Tensor, clamp: bool = True) -> Tensor:
    """RGB with luminance y (B, 1, H, W) and the I, Q of ``iq_from``."""
    out = color.yiq_to_rgb(torch.cat([y, color.rgb_to_yiq(iq_from)[:, 1:]], dim=1))
    return out.clamp(0, 1) if clamp else out


def _luminance_only(content: Tensor, style: Tensor, transfer: Callable[..., Tensor], **wrong: Any) -> Tensor:
    """The pipeline with at most one mistake: colour_inputs (content, style or both), unmatched,
    unclamped_style, clamp_first, no_clamp, iq ("stylized", "style", "swap"), rec709."""
    w = REC709 if wrong.get("rec709") else color.REC601
    yc = _weighted(content, w)
    y_style = _matched(style, content, w, form="none" if wrong.get("unmatched") else "ok")
    gray_s = _gray(y_style) if wrong.get("unclamped_style") else _gray(y_style).clamp(0, 1)
    inputs = {"content": (content, gray_s), "style": (_gray(yc), style), "both": (content, style)}
    stylized = transfer(*inputs.get(wrong.get("colour_inputs"), (_gray(yc), gray_s)))
    if wrong.get("clamp_first"):
        stylized = stylized.clamp(0, 1)
    clamp = not wrong.get("no_clamp")
    iq = wrong.get("iq")
    if wrong.get("rec709"):
        out = content + _weighted(stylized, w) - yc
        return out.clamp(0, 1) if clamp else out
    if iq == "stylized":
        return stylized.clamp(0, 1)
    if iq == "swap":
        return _recombine(yc, stylized, clamp)
    return _recombine(_weighted(stylized, w), style if iq == "style" else content, clamp)


def _preserve_reference(content: Tensor, style: Tensor, transfer: Callable[..., Tensor]) -> Tensor:
    """nstlab's own pipeline: the ``"luminance"`` mode of :mod:`nstlab.color`."""
    return color.output(transfer(*color.inputs(content, style, "luminance")), content, "luminance")


def _preserve_mistakes() -> dict[str, Any]:
    def wrong(**kw: Any) -> Callable[..., Tensor]:
        return lambda c, s, transfer: _luminance_only(c, s, transfer, **kw)

    return {
        "kept the stylized picture's own colours: put its luminance Y together with the content's I and Q": (
            wrong(iq="stylized")
        ),
        "put back the style's chroma: I and Q come from the content": wrong(iq="style"),
        "luminance and chroma swapped: Y from the stylized picture, I and Q from the content": wrong(
            iq="swap"
        ),
        "forgot to match the luminance statistics: the gray style gets the content's luminance mean and std "
        "first": wrong(unmatched=True),
        "gave the transfer colour pictures: it gets the two gray luminance images (Y in every channel)": [
            wrong(colour_inputs="both"),
            wrong(colour_inputs="content"),
            wrong(colour_inputs="style"),
        ],
        "clamped the stylized picture before recombining: clamp once, after putting Y, I and Q together": (
            wrong(clamp_first=True)
        ),
        "not clamped: the result is a picture, clamp it to [0, 1] at the end": wrong(no_clamp=True),
        "gray style not clamped: the matched luminance may leave [0, 1], and the transfer takes pictures": (
            wrong(unclamped_style=True)
        ),
        "Rec. 709 luminance: Y is 0.299 R + 0.587 G + 0.114 B (Rec. 601), the Y of YIQ": wrong(rec709=True),
    }


def check_preserve_color(student_fn: Callable[..., Any]) -> bool:
    """``preserve_color(content, style, transfer)``: transfer(gray content, gray matched style), then the
    result's Y with the content's I and Q, clamped to [0, 1]; ``transfer`` is :func:`stand_in_transfer`."""
    gen = torch.Generator().manual_seed(1330)
    cases = [
        (_images(gen, 1, 8, 8), _images(gen, 1, 8, 8), stand_in_transfer),
        (_images(gen, 2, 6, 9), _images(gen, 2, 6, 9, 3.0), stand_in_transfer),
        (_images(gen, 1, 7, 7).float(), _images(gen, 1, 9, 6, 3.0).float(), stand_in_transfer),
        (_images(gen, 1, 8, 10), _night(gen, 1, 10, 10), stand_in_transfer),
    ]
    return verdict("preserve_color", student_fn, _preserve_reference, cases, _preserve_mistakes(), atol=1e-5)


# ----------------------------------------------------------------------------------------------------
# Task 4: Reinhard colour normalization
# ----------------------------------------------------------------------------------------------------


def _reinhard(
    source: Tensor,
    target: Tensor,
    space: str = "lab",
    dims: tuple[int, ...] = (2, 3),
    correction: int = 0,
    form: str = "ok",
    clamp: bool = True,
) -> Tensor:
    """A variant of Reinhard's transfer: moments over ``dims`` in ``space`` ("lab" or "rgb"); ``form``
    "ok", "ratio" (sigma_s / sigma_t), "mean" (means only), "swap" (target moved to the source)."""
    if form == "swap":
        source, target = target, source
    to, back = (stain.rgb_to_lab, stain.lab_to_rgb) if space == "lab" else (lambda x: x, lambda x: x)
    xs, xt = to(source.double()), to(target.double())
    mu_s, sd_s = xs.mean(dims, keepdim=True), xs.std(dims, keepdim=True, correction=correction)
    mu_t, sd_t = xt.mean(dims, keepdim=True), xt.std(dims, keepdim=True, correction=correction)
    ratio = {"ratio": sd_s / sd_t, "mean": torch.ones_like(sd_s)}.get(form, sd_t / sd_s)
    out = back((xs - mu_s) * ratio + mu_t).to(source.dtype)
    return out.clamp(0, 1) if clamp else out


def check_reinhard(student_fn: Callable[..., Any]) -> bool:
    """``reinhard(source, target)``: in l-alpha-beta (``stain.rgb_to_lab``), y = (sigma_t / sigma_s)(x - mu_s)
    + mu_t per image and channel, back to RGB (``stain.lab_to_rgb``), clamped to [0, 1]."""
    gen = torch.Generator().manual_seed(1340)
    cases = [
        (_images(gen, 1, 9, 8, 1.5), _images(gen, 1, 6, 7, 0.7)),
        (_images(gen, 2, 7, 7), _images(gen, 1, 8, 6, 2.0)),
        (_images(gen, 1, 8, 8).float(), _images(gen, 1, 6, 9).float()),
    ]
    mistakes = {
        "one mean and std for the whole image, pooled over l, alpha and beta: match each channel on its "
        "own": lambda s, t: _reinhard(s, t, dims=(1, 2, 3)),
        "matched in RGB: Reinhard matches the moments in l-alpha-beta, where the channels are nearly "
        "decorrelated": lambda s, t: _reinhard(s, t, space="rgb"),
        "source and target swapped: the source takes the target's statistics": (
            lambda s, t: _reinhard(s, t, form="swap")
        ),
        "std ratio upside down: scale by sigma_t / sigma_s": lambda s, t: _reinhard(s, t, form="ratio"),
        "only the means matched: also scale by sigma_t / sigma_s": lambda s, t: _reinhard(s, t, form="mean"),
        "unbiased std (divides by N - 1): use the population std, correction=0": (
            lambda s, t: _reinhard(s, t, correction=1)
        ),
        "not clamped: back in RGB, clamp the picture to [0, 1]": lambda s, t: _reinhard(s, t, clamp=False),
    }
    return verdict("reinhard", student_fn, stain.reinhard, cases, mistakes, atol=1e-5)
