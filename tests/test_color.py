"""Tests of nstlab.color: one Rec. 601 luminance (closed form, PIL as a reference), YIQ, colour transfer,
and the preserve-colour modes shared by every entry point."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from seeded import correlated

from nstlab import color, transforms

REC601 = (0.299, 0.587, 0.114)  # ITU-R BT.601-7 sec. 2.5.1
REC709 = (0.2126, 0.7152, 0.0722)  # ITU-R BT.709-6 (what skimage.color.rgb2gray uses, not ours)


def cov_np(F: torch.Tensor) -> np.ndarray:
    return np.cov(F[0].double().flatten(1).numpy(), bias=True)


def uniform_image(seed: int, shape=(2, 3, 9, 7), dtype=torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# -------------------------------------------------------------------- luminance


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_luminance_is_the_rec601_closed_form(dtype):
    img = uniform_image(1, dtype=dtype)
    y = color.luminance(img)
    assert y.shape == (2, 1, 9, 7) and y.dtype == dtype
    expected = sum(w * img[:, c : c + 1] for c, w in enumerate(REC601))
    torch.testing.assert_close(y, expected)
    # the weights sum to 1: gray stays gray, white stays 1
    torch.testing.assert_close(color.luminance(img[:, :1].expand(-1, 3, -1, -1)), img[:, :1])


def test_luminance_matches_pil_convert_L_and_not_rec709():
    """PIL's ``convert("L")`` is ITU-R 601-2 luma, L = R 299/1000 + G 587/1000 + B 114/1000, rounded to an
    8-bit level: ours must agree to within one level on every pixel, saturated colours included."""
    g = np.random.default_rng(2)
    rgb = g.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    rgb[0, :6] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 255, 255]]
    pil = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    img = torch.from_numpy(rgb).permute(2, 0, 1)[None].double() / 255
    ours = color.luminance(img)[0, 0].numpy() * 255
    assert np.abs(ours - pil).max() <= 1.0
    rec709 = sum(w * rgb[..., c].astype(np.float64) for c, w in enumerate(REC709))
    assert np.abs(rec709 - pil).max() > 20  # the reference tells the two standards apart (pure green)


def test_luminance_is_the_y_of_yiq_and_luminance_image_is_gray():
    img = uniform_image(3)
    torch.testing.assert_close(color.rgb_to_yiq(img)[:, :1], color.luminance(img))
    gray = color.luminance_image(img)
    assert gray.shape == img.shape
    assert color.rgb_to_yiq(gray)[:, 1:].abs().max().item() < 1e-12


def test_luminance_rejects_what_is_not_an_rgb_image():
    with pytest.raises(ValueError, match="grayscale"):
        color.luminance(torch.rand(1, 1, 4, 4))
    with pytest.raises(TypeError, match="divide 0-255 pixel values by 255"):
        color.luminance(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


# -------------------------------------------------------------------- YIQ and colour transfer


def soft_image(seed: int, mean: tuple[float, float, float], scale: float) -> torch.Tensor:
    """A (1, 3, 16, 16) image with correlated channels well inside [0, 1] (so clamping does nothing)."""
    base = correlated(3, 256, seed=seed) * scale
    base = base - base.mean(-1, keepdim=True) + torch.tensor(mean, dtype=torch.float64)[:, None]
    return base.reshape(1, 3, 16, 16)


@pytest.mark.parametrize("method", ["wct", "ot"])
def test_color_transfer_matches_the_colour_covariance(method):
    content, style = soft_image(29, (0.5, 0.4, 0.3), 0.03), soft_image(30, (0.3, 0.5, 0.6), 0.04)
    out = color.color_transfer(content, style, method, eps=1e-10)
    assert out.shape == content.shape and out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(cov_np(out), cov_np(style), rtol=1e-5, atol=1e-9)


def test_color_transfer_adain_and_clamping():
    content, style = soft_image(31, (0.5, 0.5, 0.5), 0.03), soft_image(32, (0.4, 0.6, 0.6), 0.03)
    out = color.color_transfer(content, style, "adain")
    torch.testing.assert_close(out, transforms.adain(content, style))  # nothing to clamp here
    np.testing.assert_allclose(out.flatten(2).mean(-1).numpy(), style.flatten(2).mean(-1).numpy(), atol=1e-9)
    bright = color.color_transfer(
        content, style * 0 + torch.tensor([1.0, 0.0, 0.5]).view(1, 3, 1, 1) + 0.5 * style
    )
    assert bright.min() >= 0 and bright.max() <= 1
    with pytest.raises(ValueError, match="unknown method"):
        color.color_transfer(content, style, "histogram")
    with pytest.raises(ValueError, match=r"must have shape \(B, 3, H, W\)"):
        color.color_transfer(content[:, :2], style)


def test_hue_rotation_is_a_rotation_about_the_grey_axis():
    # Closed forms: a third of a turn permutes the channels (R -> G -> B -> R), a full turn is the
    # identity; every angle gives an orthogonal matrix of determinant 1 that fixes (1, 1, 1).
    img = uniform_image(4)
    torch.testing.assert_close(color.rotate_hue(img, 2 * np.pi / 3), img[:, [2, 0, 1]])
    torch.testing.assert_close(color.rotate_hue(img, 2 * np.pi), img)
    for angle in (0.3, 1.7, -2.2):
        m = color.hue_rotation_matrix(angle)
        torch.testing.assert_close(m @ m.T, torch.eye(3, dtype=torch.float64))
        assert torch.linalg.det(m).item() == pytest.approx(1.0)
        torch.testing.assert_close(m @ torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    # an unclipped pixel keeps r + g + b; the output is clamped to [0, 1]
    grey_ish = 0.4 + 0.1 * img
    torch.testing.assert_close(color.rotate_hue(grey_ish, 1.0).sum(1), grey_ish.sum(1))
    saturated = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    out = color.rotate_hue(saturated, np.pi)
    assert out.min() >= 0 and out.max() <= 1


def test_yiq_roundtrip_and_gray_axis():
    img = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(33), dtype=torch.float64)
    torch.testing.assert_close(color.yiq_to_rgb(color.rgb_to_yiq(img)), img)
    gray = img[:, :1].expand(-1, 3, -1, -1)
    yiq = color.rgb_to_yiq(gray)
    torch.testing.assert_close(yiq[:, 0], img[:, 0])
    assert yiq[:, 1:].abs().max().item() < 1e-12


def test_preserve_luminance_color_takes_y_from_stylized_and_iq_from_content():
    content, stylized = soft_image(34, (0.5, 0.4, 0.3), 0.03), soft_image(35, (0.4, 0.5, 0.6), 0.05)
    out = color.preserve_luminance_color(stylized, content)
    yo, ys, yc = (color.rgb_to_yiq(t) for t in (out, stylized, content))
    torch.testing.assert_close(yo[:, 0], ys[:, 0])
    torch.testing.assert_close(yo[:, 1:], yc[:, 1:])
    with pytest.raises(ValueError, match="same size"):
        color.preserve_luminance_color(stylized[..., :8], content)


def test_match_luminance_gives_the_style_luminance_the_content_moments():
    content, style = soft_image(36, (0.5, 0.4, 0.3), 0.03), soft_image(37, (0.2, 0.3, 0.4), 0.08)
    gray = color.match_luminance(style, content)
    assert gray.shape == style.shape
    torch.testing.assert_close(gray[:, 0], gray[:, 2])
    y, yc = gray[:, 0].flatten(), color.rgb_to_yiq(content)[:, 0].flatten()
    assert y.mean().item() == pytest.approx(yc.mean().item(), abs=1e-10)
    assert y.std(correction=0).item() == pytest.approx(yc.std(correction=0).item(), rel=1e-6)
    ys = color.rgb_to_yiq(style)[:, 0].flatten()
    assert np.corrcoef(y.numpy(), ys.numpy())[0, 1] == pytest.approx(1.0)  # same picture, affinely changed


# -------------------------------------------------------------------- preserve-colour modes


def test_check_mode_names_the_modes_and_rejects_the_old_boolean():
    for mode in color.PRESERVE_COLOR:
        assert color.check_mode(mode) == mode
    with pytest.raises(ValueError, match="choose None, 'luminance' or 'moments'"):
        color.check_mode("yiq")
    for old in (True, False):
        with pytest.raises(TypeError, match="not a boolean.*'moments'"):
            color.check_mode(old)


def test_luminance_mode_keeps_the_content_chroma_exactly():
    content, stylized = soft_image(38, (0.5, 0.4, 0.3), 0.03), soft_image(39, (0.4, 0.5, 0.6), 0.05)
    c_in, s_in = color.inputs(content, stylized, "luminance")
    assert color.rgb_to_yiq(c_in)[:, 1:].abs().max().item() < 1e-12  # the transfer sees gray pictures
    assert color.rgb_to_yiq(s_in)[:, 1:].abs().max().item() < 1e-12
    out = color.output(stylized, content, "luminance")
    torch.testing.assert_close(color.chroma_stats(out), color.chroma_stats(content))


def test_moments_mode_gives_the_style_the_content_palette():
    content, style = soft_image(40, (0.5, 0.4, 0.3), 0.03), soft_image(41, (0.3, 0.5, 0.6), 0.04)
    c_in, s_in = color.inputs(content, style, "moments")
    assert c_in is content
    # up to the eps = 1e-5 that regularizes the colour covariances (~1e-3 here)
    np.testing.assert_allclose(cov_np(s_in), cov_np(content), rtol=0.03, atol=1e-6)
    assert color.output(style, content, "moments") is style
    assert color.styles_in(content, [style, style], None) == [style, style]


def test_the_old_mode_name_says_what_it_became():
    with pytest.raises(ValueError, match="'histogram' is now 'moments'"):
        color.check_mode("histogram")
