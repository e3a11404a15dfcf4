"""Checks of set 13 (colour preservation, Reinhard): each passes nstlab's reference and a correct
implementation written here independently (numpy and scikit-image, another route through the algebra), and
names every listed mistake made by a deliberately wrong one (also written here)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch
from check_harness import run

from nstlab import checks, color, stain
from nstlab.checks import set13_color


def _np(x):
    return x.detach().double().numpy()


def _like(a, ref):
    return torch.from_numpy(np.ascontiguousarray(a)).to(ref.dtype)


REC601, REC709, AVERAGE = (0.299, 0.587, 0.114), (0.2126, 0.7152, 0.0722), (1 / 3, 1 / 3, 1 / 3)


def luma_np(img, w=REC601):
    return np.tensordot(np.asarray(w), _np(img), axes=([0], [1]))[:, None]  # (B, 1, H, W)


# --------------------------------------------------------------------------------------------------
# Task 1: luminance
# --------------------------------------------------------------------------------------------------


def skimage_gray(img):
    """scikit-image's rgb2gray, the Rec. 709 luma, per image."""
    x = _np(img).transpose(0, 2, 3, 1)
    return _like(np.stack([skimage.color.rgb2gray(im) for im in x])[:, None], img)


LUMINANCE_WRONG = {
    "Rec. 709": [lambda x: _like(luma_np(x, REC709), x), skimage_gray],
    "plain average": [lambda x: _like(luma_np(x, AVERAGE), x)],
    "BGR order": [lambda x: _like(luma_np(x, REC601[::-1]), x)],
    "dropped the channel axis": [lambda x: _like(luma_np(x)[:, 0], x)],
}


def test_luminance_passes_correct_versions(capsys):
    assert run(checks.check_luminance, color.luminance, capsys)[0]
    assert run(checks.check_luminance, lambda x: _like(luma_np(x), x), capsys)[0]
    # the Y row of scikit-image's YIQ is Rec. 601
    yiq = lambda x: _like(skimage.color.rgb2yiq(_np(x), channel_axis=1)[:, :1], x)  # noqa: E731
    assert run(checks.check_luminance, yiq, capsys)[0]


@pytest.mark.parametrize("name", sorted(LUMINANCE_WRONG))
def test_luminance_names_the_mistake(name, capsys):
    for fn in LUMINANCE_WRONG[name]:
        ok, out = run(checks.check_luminance, fn, capsys)
        assert not ok and name in out, out


# --------------------------------------------------------------------------------------------------
# Task 2: matching the style's luminance
# --------------------------------------------------------------------------------------------------


def match_np(style, content, w=REC601, axes=(1, 2, 3), ddof=0, form="ok"):
    ys, yc = luma_np(style, w), luma_np(content, w)
    ms, ss = ys.mean(axis=axes, keepdims=True), ys.std(axis=axes, keepdims=True, ddof=ddof)
    mc, sc = yc.mean(axis=axes, keepdims=True), yc.std(axis=axes, keepdims=True, ddof=ddof)
    out = {
        "ok": (ys - ms) / ss * sc + mc,
        "none": ys,
        "swap": (yc - mc) / sc * ss + ms,
        "ratio": (ys - ms) * ss / sc + mc,
        "mean": ys - ms + mc,
    }[form]
    return _like(out, style)


MATCH_WRONG = {
    "forgot to match": lambda s, c: match_np(s, c, form="none"),
    "roles swapped": lambda s, c: match_np(s, c, form="swap"),
    "std ratio upside down": lambda s, c: match_np(s, c, form="ratio"),
    "only the mean matched": lambda s, c: match_np(s, c, form="mean"),
    "unbiased std": lambda s, c: match_np(s, c, ddof=1),
    "statistics over the whole batch": lambda s, c: match_np(s, c, axes=(0, 1, 2, 3)),
    "Rec. 709": lambda s, c: match_np(s, c, w=REC709),
}


def test_match_luminance_passes_correct_versions(capsys):
    assert run(checks.check_match_luminance, lambda s, c: color.match_luminance(s, c)[:, :1], capsys)[0]
    assert run(checks.check_match_luminance, match_np, capsys)[0]


@pytest.mark.parametrize("name", sorted(MATCH_WRONG))
def test_match_luminance_names_the_mistake(name, capsys):
    ok, out = run(checks.check_match_luminance, MATCH_WRONG[name], capsys)
    assert not ok and name in out, out


# --------------------------------------------------------------------------------------------------
# Task 3: luminance-only transfer, through the identity "add the luminance change to R, G and B"
# --------------------------------------------------------------------------------------------------


def preserve_mine(content, style, transfer, w=REC601, **wrong):
    """Adding dY to all three channels keeps I and Q (their rows of the YIQ matrix sum to 0)."""
    yc = _like(luma_np(content, w), content)
    ys = match_np(style, content, w, form="none" if wrong.get("unmatched") else "ok")
    gray_c, gray_s = yc.repeat(1, 3, 1, 1), ys.repeat(1, 3, 1, 1)
    if not wrong.get("raw_style"):
        gray_s = gray_s.clamp(0, 1)
    if wrong.get("colour"):
        gray_c, gray_s = content, style
    out = transfer(gray_c, gray_s)
    if wrong.get("clamp_first"):
        out = out.clamp(0, 1)
    if wrong.get("own_colours"):
        return out.clamp(0, 1)
    chroma_from = style if wrong.get("style_chroma") else content
    y_out = _like(luma_np(out, w), out)
    result = chroma_from + (y_out - _like(luma_np(chroma_from, w), chroma_from))
    return result if wrong.get("no_clamp") else result.clamp(0, 1)


def preserve_skimage(content, style, transfer):
    """Another correct route: scikit-image's YIQ (its own I, Q rows) and its exact inverse."""
    yc = _like(luma_np(content), content)
    gray_s = match_np(style, content).clamp(0, 1).repeat(1, 3, 1, 1)
    out = transfer(yc.repeat(1, 3, 1, 1), gray_s)
    yiq_out = skimage.color.rgb2yiq(_np(out), channel_axis=1)
    yiq_c = skimage.color.rgb2yiq(_np(content), channel_axis=1)
    rgb = skimage.color.yiq2rgb(np.concatenate([yiq_out[:, :1], yiq_c[:, 1:]], axis=1), channel_axis=1)
    return _like(np.clip(rgb, 0, 1), content)


def _wrong_preserve(**kw):
    return lambda c, s, transfer: preserve_mine(c, s, transfer, **kw)


PRESERVE_WRONG = {
    "kept the stylized picture's own colours": _wrong_preserve(own_colours=True),
    "put back the style's chroma": _wrong_preserve(style_chroma=True),
    "forgot to match the luminance statistics": _wrong_preserve(unmatched=True),
    "gave the transfer colour pictures": _wrong_preserve(colour=True),
    "clamped the stylized picture before recombining": _wrong_preserve(clamp_first=True),
    "not clamped": _wrong_preserve(no_clamp=True),
    "gray style not clamped": _wrong_preserve(raw_style=True),
    "Rec. 709": _wrong_preserve(w=REC709),
}


def test_preserve_color_passes_correct_versions(capsys):
    library = lambda c, s, t: color.output(t(*color.inputs(c, s, "luminance")), c, "luminance")  # noqa: E731
    assert run(checks.check_preserve_color, library, capsys)[0]
    assert run(checks.check_preserve_color, preserve_mine, capsys)[0]
    assert run(checks.check_preserve_color, preserve_skimage, capsys)[0]


@pytest.mark.parametrize("name", sorted(PRESERVE_WRONG))
def test_preserve_color_names_the_mistake(name, capsys):
    ok, out = run(checks.check_preserve_color, PRESERVE_WRONG[name], capsys)
    assert not ok and name in out, out


def test_the_stand_in_transfer_strays_and_has_chroma():
    """Otherwise the clamping and own-colour mistakes could not be seen."""
    gen = torch.Generator().manual_seed(0)
    gray = torch.rand(1, 1, 8, 8, generator=gen, dtype=torch.float64).repeat(1, 3, 1, 1)
    out = set13_color.stand_in_transfer(gray, gray.flip(-1) ** 2)
    assert out.min() < 0 or out.max() > 1
    assert color.chroma_stats(out)[:2].abs().max() > 0.01  # mean I or Q away from 0: a colour cast


# --------------------------------------------------------------------------------------------------
# Task 4: Reinhard in l-alpha-beta, written from the paper's matrices
# --------------------------------------------------------------------------------------------------

RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1, 1, 1], [1, 1, -2], [1, -1, 0]], dtype=float
)


def _mix(m, x):
    return np.einsum("ij,bjhw->bihw", m, x)


def reinhard_np(source, target, space="lab", axes=(2, 3), ddof=0, form="ok", clamp=True):
    if form == "swap":
        source, target = target, source

    def to(x):
        return (
            _mix(LMS_TO_LAB, np.log10(np.maximum(_mix(RGB_TO_LMS, _np(x)), 1e-4)))
            if space == "lab"
            else _np(x)
        )

    def back(y):
        return (
            _mix(np.linalg.inv(RGB_TO_LMS), 10 ** _mix(np.linalg.inv(LMS_TO_LAB), y)) if space == "lab" else y
        )

    xs, xt = to(source), to(target)
    ms, ss = xs.mean(axis=axes, keepdims=True), xs.std(axis=axes, keepdims=True, ddof=ddof)
    mt, st = xt.mean(axis=axes, keepdims=True), xt.std(axis=axes, keepdims=True, ddof=ddof)
    gain = {"ratio": ss / st, "mean": 1.0}.get(form, st / ss)
    out = back((xs - ms) * gain + mt)
    return _like(np.clip(out, 0, 1) if clamp else out, source)


REINHARD_WRONG = {
    "pooled over l, alpha and beta": lambda s, t: reinhard_np(s, t, axes=(1, 2, 3)),
    "matched in RGB": lambda s, t: reinhard_np(s, t, space="rgb"),
    "source and target swapped": lambda s, t: reinhard_np(s, t, form="swap"),
    "std ratio upside down": lambda s, t: reinhard_np(s, t, form="ratio"),
    "only the means matched": lambda s, t: reinhard_np(s, t, form="mean"),
    "unbiased std": lambda s, t: reinhard_np(s, t, ddof=1),
    "not clamped": lambda s, t: reinhard_np(s, t, clamp=False),
}


def test_reinhard_passes_correct_versions(capsys):
    assert run(checks.check_reinhard, stain.reinhard, capsys)[0]
    assert run(checks.check_reinhard, reinhard_np, capsys)[0]


@pytest.mark.parametrize("name", sorted(REINHARD_WRONG))
def test_reinhard_names_the_mistake(name, capsys):
    ok, out = run(checks.check_reinhard, REINHARD_WRONG[name], capsys)
    assert not ok and name in out, out


# --------------------------------------------------------------------------------------------------
# Every check on a stub
# --------------------------------------------------------------------------------------------------


def stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "check",
    [
        checks.check_luminance,
        checks.check_match_luminance,
        checks.check_preserve_color,
        checks.check_reinhard,
    ],
)
def test_a_stub_is_not_implemented_yet_and_nothing_raises(check, capsys):
    ok, out = run(check, stub, capsys)
    assert not ok and "not implemented yet" in out
    ok, out = run(check, lambda *a: 1 / 0, capsys)
    assert not ok and "ZeroDivisionError" in out
