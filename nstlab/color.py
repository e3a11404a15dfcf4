"""Colour preservation for any style transfer method (Gatys et al. 2017, "Controlling Perceptual Factors in
Neural Style Transfer", CVPR, sec. 5). Both modes wrap a transfer: ``inputs`` changes the pictures that go
in, ``output`` the picture that comes out, so ``optimize.stylize`` and the feed-forward ``decoders`` share
them.

- ``"luminance"`` (luminance-only transfer, sec. 5.1): in YIQ (Y = 0.299 R + 0.587 G + 0.114 B, I and Q the
  chrominance), the style's luminance is matched to the content's mean and std,
  Y_s' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c; the gray content Y_c is stylized with the gray style Y_s';
  the result's luminance is put back together with the content's I and Q. The content's colours are kept
  exactly (up to clamping to [0, 1]); only lightness carries the style.
- ``"histogram"`` (colour histogram matching, sec. 5.2): before the transfer the style's colours are moved
  to the content's by the linear map x -> mu_c + A (x - mu_s) with A S_s A = S_c (mean and 3x3 covariance
  of the RGB pixels matched; the symmetric Gaussian OT map, :func:`nstlab.transforms.gaussian_ot_map`).
  The style keeps its strokes and texture but now paints in the content's palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .images import check_image
from .transforms import color_transfer, match_luminance, preserve_luminance_color, rgb_to_yiq

PRESERVE_COLOR = (None, "luminance", "histogram")


def check_mode(mode: str | None) -> str | None:
    """Validate ``preserve_color``; returns it."""
    if mode not in PRESERVE_COLOR:
        raise ValueError(f"unknown preserve_color={mode!r}; choose None, 'luminance' or 'histogram'")
    return mode


def luminance_image(img: Tensor) -> Tensor:
    """The luminance Y of an RGB image repeated in three channels (a gray RGB image, (B, 3, H, W))."""
    return rgb_to_yiq(check_image(img))[:, :1].expand(-1, 3, -1, -1).contiguous()


def inputs(content: Tensor, style: Tensor, mode: str | None) -> tuple[Tensor, Tensor]:
    """(content, style) as they go into the transfer for ``mode`` (None leaves both unchanged)."""
    check_mode(mode)
    if mode == "luminance":
        return luminance_image(content), match_luminance(style, content).clamp(0, 1)
    if mode == "histogram":
        return content, color_transfer(style, content, method="ot")
    return content, style


def styles_in(content: Tensor, styles: Sequence[Tensor], mode: str | None) -> list[Tensor]:
    """:func:`inputs`' style for each of several styles (one content)."""
    return [inputs(content, s, mode)[1] for s in styles]


def output(result: Tensor, content: Tensor, mode: str | None) -> Tensor:
    """The transfer's ``result`` as the user sees it: for ``"luminance"`` its Y with the content's I, Q."""
    check_mode(mode)
    if mode == "luminance":
        return preserve_luminance_color(result, content)
    return result


def chroma_stats(img: Tensor) -> Tensor:
    """Mean and std of the chrominance channels I and Q of YIQ: a (4,) tensor (mu_I, mu_Q, sd_I, sd_Q).

    What colour preservation must keep: equal values mean the same palette in the same amounts.
    """
    iq = rgb_to_yiq(check_image(img))[:, 1:].flatten(2).double()
    return torch.cat([iq.mean(-1)[0], iq.std(-1, correction=0)[0]])
