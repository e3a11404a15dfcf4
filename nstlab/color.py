"""Colour in pixel space: YIQ, one luminance, colour transfer and colour preservation (Gatys et al. 2017,
"Controlling Perceptual Factors in Neural Style Transfer", CVPR, sec. 5).

Luminance is Rec. 601 everywhere in the library (:func:`luminance`):

    Y = 0.299 R + 0.587 G + 0.114 B

(Recommendation ITU-R BT.601-7, sec. 2.5.1, the luma of NTSC/PAL video and the Y row of YIQ; PIL's
``Image.convert("L")`` uses the same weights). It is applied to the [0, 1] values as they are (gamma-encoded
sRGB), as Gatys et al. and PIL do; no linearization.

Colour preservation wraps a transfer: :func:`inputs` changes the pictures that go in, :func:`output` the
picture that comes out. ``optimize.stylize`` and ``decoders.stylize_fast`` both call them with the same
``preserve_color`` modes (:data:`PRESERVE_COLOR`):

- ``"luminance"`` (luminance-only transfer, sec. 5.1): in YIQ (I and Q the chrominance), the style's
  luminance is matched to the content's mean and std, Y_s' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c; the
  gray content Y_c is stylized with the gray style Y_s'; the result's luminance is put back together with
  the content's I and Q. The content's colours are kept exactly (up to clamping to [0, 1]); only
  lightness carries the style.
- ``"moments"`` (what Gatys et al. call colour histogram matching, sec. 5.2; it matches the colours' first
  two moments, not their histograms): before the transfer the style's colours are moved
  to the content's by the linear map x -> mu_c + A (x - mu_s) with A S_s A = S_c (mean and 3x3 covariance
  of the RGB pixels matched; the symmetric Gaussian OT map, :func:`nstlab.transforms.gaussian_ot_map`).
  The style keeps its strokes and texture but now paints in the content's palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._features import check_choice
from .images import check_image
from .transforms import adain, gaussian_ot_map, wct
from .validation import checked

__all__ = [
    "rgb_to_yiq",
    "yiq_to_rgb",
    "luminance",
    "luminance_image",
    "color_transfer",
    "preserve_luminance_color",
    "match_luminance",
    "check_mode",
    "content_in",
    "style_in",
    "inputs",
    "styles_in",
    "output",
    "chroma_stats",
    "hue_rotation_matrix",
    "rotate_hue",
]

PRESERVE_COLOR = (None, "luminance", "moments")
COLOR_METHODS = ("wct", "adain", "ot")

# Rec. 601 luma weights (ITU-R BT.601-7, sec. 2.5.1): the Y row of YIQ and of PIL's convert("L").
REC601 = (0.299, 0.587, 0.114)

# NTSC YIQ (FCC 1953): Y = Rec. 601 luminance, I and Q = chrominance. The inverse is the exact matrix inverse.
_RGB_TO_YIQ = torch.tensor(
    [REC601, [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]], dtype=torch.float64
)

# eps of the luminance moment matching: the two luminances are images in [0, 1], so eps only guards a
# perfectly flat style (which then maps to the content's mean) and must not bias real stds.
LUMINANCE_EPS = 1e-12


def _mix(matrix: Tensor, img: Tensor) -> Tensor:
    """out_i = sum_j matrix_ij img_j per pixel, in img's dtype and device."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(img), img)


@checked
def rgb_to_yiq(img: Tensor) -> Tensor:
    """RGB (B, 3, H, W) to NTSC YIQ: Y = 0.299 R + 0.587 G + 0.114 B, I and Q the chrominance axes."""
    return _mix(_RGB_TO_YIQ, check_image(img, "img"))


@checked
def yiq_to_rgb(yiq: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_yiq` (exact matrix inverse, not clamped)."""
    return _mix(torch.linalg.inv(_RGB_TO_YIQ), check_image(yiq, "yiq"))


@checked
def luminance(img: Tensor) -> Tensor:
    """Rec. 601 luminance Y = 0.299 R + 0.587 G + 0.114 B of an RGB image (B, 3, H, W) -> (B, 1, H, W).

    ITU-R BT.601-7 sec. 2.5.1 (the same weights as the Y of YIQ and PIL's ``convert("L")``), applied to the
    gamma-encoded values. Same dtype and device as the input; differentiable.
    """
    check_image(img, "img")
    w = torch.tensor(REC601, dtype=img.dtype, device=img.device)
    return torch.einsum("c,bchw->bhw", w, img).unsqueeze(1)


@checked
def luminance_image(img: Tensor) -> Tensor:
    """The luminance Y of an RGB image repeated in three channels (a gray RGB image, (B, 3, H, W))."""
    return luminance(img).expand(-1, 3, -1, -1).contiguous()


@checked
def color_transfer(content_img: Tensor, style_img: Tensor, method: str = "wct", eps: float = 1e-5) -> Tensor:
    """Give the content image the style image's colours by treating pixels as 3-D features.

    Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer" (colour histogram matching
    before stylization); the same code as the feature transforms: ``"adain"`` matches each RGB channel's
    mean and std (:func:`nstlab.transforms.adain`), ``"wct"`` the full 3x3 colour covariance
    (:func:`nstlab.transforms.wct`), ``"ot"`` the Gaussian OT map (:func:`nstlab.transforms.gaussian_ot_map`,
    the linear map that moves colours least). eps regularizes a flat-coloured image. Clamped to [0, 1].
    """
    check_image(content_img, "content_img")
    check_image(style_img, "style_img")
    check_choice(method, COLOR_METHODS, "method")
    transfer = {"adain": adain, "wct": wct, "ot": gaussian_ot_map}[method]
    return transfer(content_img, style_img, eps=eps).clamp(0, 1)


@checked
def preserve_luminance_color(stylized: Tensor, content: Tensor) -> Tensor:
    """Luminance-only transfer (Gatys et al. 2017, "Controlling Perceptual Factors", sec. 5.1): keep the
    content's chrominance (I, Q) and take the stylized image's luminance Y, in YIQ; clamped to [0, 1]."""
    check_image(stylized, "stylized")
    check_image(content, "content")
    if stylized.shape[-2:] != content.shape[-2:]:
        raise ValueError(
            f"stylized {tuple(stylized.shape)} and content {tuple(content.shape)} need the same size; "
            "resize one"
        )
    ys, yc = rgb_to_yiq(stylized), rgb_to_yiq(content.to(stylized))
    return yiq_to_rgb(torch.cat([ys[:, :1], yc[:, 1:]], dim=1)).clamp(0, 1)


@checked
def match_luminance(style_img: Tensor, content_img: Tensor) -> Tensor:
    """Style luminance matched to the content's: Y' = (sigma_c / sigma_s)(Y_s - mu_s) + mu_c, as gray RGB.

    The first step of luminance-only transfer (Gatys et al. 2017, sec. 5.1): stylize the content's gray
    image with this gray style, then :func:`preserve_luminance_color`. This is AdaIN on the one luminance
    channel (:func:`nstlab.transforms.adain`). Returns (B, 3, H, W) with Y' in all three channels (not
    clamped).
    """
    check_image(style_img, "style_img")
    check_image(content_img, "content_img")
    ys, yc = luminance(style_img), luminance(content_img.to(style_img))
    return adain(ys, yc, eps=LUMINANCE_EPS).expand(-1, 3, -1, -1).contiguous()


@checked
def check_mode(mode: object) -> str | None:
    """Validate ``preserve_color`` (one of :data:`PRESERVE_COLOR`); returns it."""
    if isinstance(mode, bool):
        raise TypeError(
            f"preserve_color={mode!r}: it is a mode now, not a boolean; pass None (off), 'luminance' "
            "(keep the content's colours exactly) or 'moments' (the old preserve_color=True: the style "
            "takes the content's colour mean and covariance first)"
        )
    if mode == "histogram":
        raise ValueError(
            "preserve_color='histogram' is now 'moments': it gives the style the content's colour mean and "
            "covariance (a linear map), which is not histogram matching (feature histograms are matched by "
            "the style losses ot1d and sliced_w2)"
        )
    if mode not in PRESERVE_COLOR:
        raise ValueError(f"unknown preserve_color={mode!r}; choose None, 'luminance' or 'moments'")
    return mode


@checked
def content_in(content: Tensor, mode: str | None) -> Tensor:
    """The content as it goes into the transfer for ``mode``: its gray luminance image for
    ``"luminance"``, unchanged otherwise."""
    return luminance_image(content) if check_mode(mode) == "luminance" else content


@checked
def style_in(style: Tensor, content: Tensor, mode: str | None) -> Tensor:
    """The style as it goes into the transfer for ``mode``: its luminance matched to the content's
    (``"luminance"``), its colour mean and covariance moved to the content's (``"moments"``), unchanged
    for None."""
    if check_mode(mode) == "luminance":
        return match_luminance(style, content).clamp(0, 1)
    if mode == "moments":
        return color_transfer(style, content, method="ot")
    return style


@checked
def inputs(content: Tensor, style: Tensor, mode: str | None) -> tuple[Tensor, Tensor]:
    """(content, style) as they go into the transfer for ``mode`` (None leaves both unchanged)."""
    return content_in(content, mode), style_in(style, content, mode)


@checked
def styles_in(content: Tensor, styles: Sequence[Tensor], mode: str | None) -> list[Tensor]:
    """:func:`style_in` for each of several styles (one content)."""
    return [style_in(s, content, mode) for s in styles]


@checked
def output(result: Tensor, content: Tensor, mode: str | None) -> Tensor:
    """The transfer's ``result`` as the user sees it: for ``"luminance"`` its Y with the content's I, Q."""
    check_mode(mode)
    if mode == "luminance":
        return preserve_luminance_color(result, content)
    return result


@checked
def chroma_stats(img: Tensor) -> Tensor:
    """Mean and std of the chrominance channels I and Q of YIQ: a (4,) tensor (mu_I, mu_Q, sd_I, sd_Q).

    What colour preservation must keep: equal values mean the same palette in the same amounts.
    """
    iq = rgb_to_yiq(img)[:, 1:].flatten(2).double()
    return torch.cat([iq.mean(-1)[0], iq.std(-1, correction=0)[0]])


@checked
def hue_rotation_matrix(angle: float) -> Tensor:
    """The 3x3 rotation of RGB space by ``angle`` (radians) about the grey axis k = (1, 1, 1) / sqrt(3)
    (Rodrigues' formula): R = cos(a) I + sin(a) [k]_x + (1 - cos(a)) k k^T.

    Greys (r = g = b) stay fixed and r + g + b is kept; a = 2 pi / 3 maps R to G, G to B and B to R.
    """
    k = torch.full((3,), 3**-0.5, dtype=torch.float64)
    cross = 3**-0.5 * torch.tensor([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=torch.float64)  # [k]_x
    a = torch.tensor(angle, dtype=torch.float64)
    return (
        torch.cos(a) * torch.eye(3, dtype=torch.float64)
        + torch.sin(a) * cross
        + (1 - torch.cos(a)) * torch.outer(k, k)
    )


@checked
def rotate_hue(img: Tensor, angle: float) -> Tensor:
    """An RGB image (B, 3, H, W) with every pixel rotated by :func:`hue_rotation_matrix` (``angle``),
    clamped back to [0, 1]: the same picture in other hues (a training augmentation of the decoders)."""
    return _mix(hue_rotation_matrix(angle), check_image(img, "img")).clamp(0, 1)
