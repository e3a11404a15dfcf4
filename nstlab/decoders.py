"""Feed-forward decoders for fast arbitrary style transfer (Huang & Belongie 2017, "Arbitrary Style
Transfer in Real-time with Adaptive Instance Normalization", ICCV; Li et al. 2017, "Universal Style
Transfer via Feature Transforms", NeurIPS): the model, its shipped weights and the fast transfer.

Fast transfer is encode -> transform -> decode:

    t = alpha * sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c),    out = g(t),

with f the frozen ``vgg16-hed`` encoder up to ``layer``, T = AdaIN or WCT (:mod:`nstlab.transforms`) and g
a decoder trained once (:mod:`nstlab.decoder_training`), so stylizing costs one encoder and one decoder
pass instead of hundreds of optimization steps.

The decoder mirrors the encoder: every 3x3 convolution in reverse order with the channel widths mirrored
(256 -> 128 -> 128 -> 64 -> 64 -> 3 for ``relu3_1``), reflection padding, ReLU after every layer but the
last, and every 2x2 pooling replaced by a 2x upsampling merged with the convolution that follows it:

- ``"transposed"``: a transposed convolution, kernel 3, stride 2. Its kernel taps overlap unevenly (output
  pixels alternately receive 1 and 2 taps per axis), the checkerboard of Odena et al. 2016 at 1/2
  cycles/pixel (see :mod:`nstlab.artifacts`, whose :func:`~nstlab.artifacts.nyquist_peak` measures it).
- ``"resize"``: nearest-neighbour upsampling by 2, then a 3x3 convolution (resize-convolution): every
  input pixel is spread evenly, no built-in checkerboard.

Shipped weights (``nstlab/data``, fp16, each with a json giving its sha256, the exact command and the
measured numbers; :data:`KINDS`):

- ``kind="adain"``: the pair ``decoder-relu3_1-{resize,transposed}.pt`` at ``relu3_1``, trained with
  Huang & Belongie's loss (:mod:`nstlab.decoder_training`); the same recipe with the two upsamplings,
  kept for the checkerboard comparison of chapters 09 and 10.
- ``kind="reconstruct"``: ``decoder-{relu3_1,relu2_1,relu1_1}-reconstruct.pt``, the reconstruction
  decoders g_l(f_l(c)) = c of Li et al. 2017 (resize-convolution), for the coarse-to-fine cascade that
  :func:`stylize_fast` runs by default (:func:`cascade_transfer`). One level at ``relu3_1`` sees windows
  of 24 px: it carries the style's colours and small marks, not its larger strokes; the cascade imposes
  the style's statistics again at ``relu2_1`` and ``relu1_1`` on the picture the previous level decoded.

The fast path runs by default on a distilled student (:class:`Student`, ``distilled-relu3_1.pt``): the
shape of vgg16-hed up to ``relu3_1`` with :data:`STUDENT_WIDTH` of its channels and its own reconstruction
decoders, trained by :mod:`nstlab.distill` (collaborative distillation, Wang et al. 2020);
``encoder="vgg16-hed"`` runs the cascade on the teacher. A style's statistics are kept once computed
(:func:`style_statistics`).

``layer="relu4_1"`` is supported by the model and the training (``nstlab train-decoder --layer relu4_1``)
but not shipped: a fourth level would double the cascade's FLOPs (:func:`transfer_flops`: about 500
instead of 240 GFLOP at 512 x 512) and its decoder's training did not fit the CPU hours available.
Measures that judge a transfer with neither our encoder nor a peer's: :func:`style_distance` (Gram
distances in a seeded random net) and :func:`content_ssim`. ``preserve_color`` takes the modes of
:mod:`nstlab.color`, the same as :func:`nstlab.optimize.stylize`.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from . import color, images
from ._features import check_choice
from .backbones import Backbone, load_backbone
from .budget import budget
from .budget import device as default_device
from .layers import vgg_layers, vgg_scaled
from .stats import mean_std, moments64
from .transforms import ADAIN_EPS, adain, adain_to_moments, wct, wct_to_moments
from .validation import (
    Fraction,
    ImageSide,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    TensorSpec,
    check_device,
    check_finite,
    check_same_shape,
    check_tensor,
    checked,
    trusted,
)
from .weights import WeightsError, verify

__all__ = [
    "decoder_spec",
    "Decoder",
    "decoder_flops",
    "encoder_flops",
    "transfer_flops",
    "weights_path",
    "STUDENT_WIDTH",
    "STUDENT_WEIGHTS",
    "Student",
    "load_student",
    "shipped_student",
    "weights_record",
    "load_decoder",
    "check_size",
    "encode",
    "check_style_weights",
    "style_target",
    "blend",
    "decode",
    "check_levels",
    "level_transfer",
    "networks",
    "StyleStatistics",
    "style_statistics",
    "statistics_target",
    "cascade_transfer",
    "stylize_fast",
    "shipped_decoder",
    "feature_decoder",
    "psnr",
    "reconstruct",
    "TargetDistances",
    "target_distances",
    "random_net",
    "random_net_grams",
    "gram_distance",
    "style_distance",
    "content_ssim",
]

VARIANTS = ("resize", "transposed")
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
METHODS = ("adain", "wct")
# The networks of the fast path: the distilled student (:mod:`nstlab.distill`, the default) or the teacher
# vgg16-hed with its shipped reconstruction decoders.
ENCODERS = ("distilled", "vgg16-hed")
STYLE_CACHE_SIZE = 32  # styles whose statistics are kept (per encoder, levels, method and device)
SHIPPED_LAYER = "relu3_1"
# What a shipped decoder was trained for: "adain", the pair (resize, transposed) at relu3_1 trained with
# Huang & Belongie's loss, kept for the checkerboard comparison; "reconstruct", the reconstruction decoders
# g_l(f_l(c)) = c of Li et al. 2017 at every level of the cascade (resize-convolution only).
KINDS = ("adain", "reconstruct")
CASCADE = ("relu3_1", "relu2_1", "relu1_1")  # the levels of the shipped cascade, coarse to fine
# The smallest image side per layer: 4x4 feature positions after the 2x poolings, so that the per-channel
# statistics of AdaIN/WCT are not computed from a handful of numbers.
MIN_SIZE = {"relu1_1": 4, "relu2_1": 8, "relu3_1": 16, "relu4_1": 32}
DATA_DIR = Path(__file__).parent / "data"
EPS = ADAIN_EPS  # AdaIN's eps in sqrt(var + eps) and WCT's eps I, as in training


# ----------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution with reflection padding (no zero border for the decoder to learn around)."""
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3))


def _up_conv(c_in: int, c_out: int, variant: str) -> nn.Module:
    """2x upsampling merged with the next convolution: transposed conv (k=3, s=2) or nearest + 3x3 conv."""
    if variant == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(c_in, c_out))


@checked
def decoder_spec(layer: str, width: PositiveFloat = 1.0) -> list[tuple[str, int, int, bool]]:
    """The decoder's convolutions mirroring vgg16 up to ``layer``: (mirrored conv, c_in, c_out, upsample).

    Walks the encoder backwards: encoder conv (a -> b) becomes decoder conv (b -> a); a pooling becomes an
    upsampling merged into the convolution after it. ``width`` scales the channels as the encoder's
    (:func:`nstlab.layers.vgg_scaled`: the decoders of the distilled student).
    """
    check_choice(layer, LAYERS, "layer")
    spec = vgg_scaled(vgg_layers("vgg16"), width)
    names = [n for n, *_ in spec]
    encoder = spec[: names.index(layer) + 1]
    out, pending_up = [], False
    for name, kind, c_in, c_out in reversed(encoder):
        if kind == "pool":
            pending_up = True
        elif kind == "conv":
            out.append((name, c_out, c_in, pending_up))
            pending_up = False
    return out


class Decoder(nn.Module):
    """g: features at ``layer`` (B, C, h, w) -> image (B, 3, 2^p h, 2^p w), p the number of poolings.

    The output is an image in [0, 1] up to the decoder's accuracy; it is not clamped (training needs
    the gradient); :func:`decode` clamps it for pictures.
    """

    @checked
    def __init__(self, layer: str = SHIPPED_LAYER, variant: str = "resize", width: PositiveFloat = 1.0):
        super().__init__()
        check_choice(variant, VARIANTS, "variant")
        self.layer, self.variant, self.width = layer, variant, width
        modules: dict[str, nn.Module] = {}
        spec = decoder_spec(layer, width)
        for k, (name, c_in, c_out, up) in enumerate(spec):
            modules[name] = _up_conv(c_in, c_out, variant) if up else _conv(c_in, c_out)
            if k < len(spec) - 1:
                modules[f"relu_{name}"] = nn.ReLU()
        self.net = nn.Sequential(*[m for m in modules.values()])
        self.names = list(modules)
        self.in_channels = spec[0][1]
        self.scale = 2 ** sum(up for *_, up in spec)
        # 1 / the mean activation of ``layer`` over the training styles: the raw Caffe-scale features are
        # in the hundreds; set once by the training, saved with the weights.
        self.register_buffer("input_scale", torch.ones(()))

    @checked
    def forward(self, features: Tensor) -> Tensor:
        return self.net(features * self.input_scale)

    @checked
    def extra_repr(self) -> str:
        return f"layer={self.layer!r}, variant={self.variant!r}, width={self.width}"


@checked
def decoder_flops(
    layer: str, variant: str, height: ImageSide, width: ImageSide, channels: PositiveFloat = 1.0
) -> int:
    """Multiply-adds x 2 of the decoder for an output of height x width (from the layer shapes);
    ``channels`` is the decoder's width (:func:`decoder_spec`)."""
    spec, total = decoder_spec(layer, channels), 0
    scale = 2 ** sum(up for *_, up in spec)
    h, w = math.ceil(height / scale), math.ceil(width / scale)
    for _, c_in, c_out, up in spec:
        if up:
            h, w = 2 * h, 2 * w
        total += 2 * 9 * c_in * c_out * h * w  # the transposed conv has the same count per output pixel
    return total


@checked
def encoder_flops(layer: str, height: ImageSide, width: ImageSide, channels: PositiveFloat = 1.0) -> int:
    """Multiply-adds x 2 of vgg16 up to ``layer`` for a height x width input (ceil-mode pooling);
    ``channels`` scales the widths (the distilled student, :func:`nstlab.layers.vgg_scaled`)."""
    check_choice(layer, tuple(name for name, *_ in vgg_layers("vgg16")), "layer")
    total, h, w = 0, height, width
    for name, kind, c_in, c_out in vgg_scaled(vgg_layers("vgg16"), channels):
        if kind == "conv":
            total += 2 * 9 * c_in * c_out * h * w
        elif kind == "pool":
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        if name == layer:
            break
    return total


@checked
def transfer_flops(
    height: int,
    width: int,
    style_size: tuple[int, int],
    levels: Sequence[str] = CASCADE,
    variant: str = "resize",
    channels: PositiveFloat = 1.0,
    style_cached: bool = False,
) -> int:
    """Convolution FLOPs of :func:`stylize_fast` for a height x width content and a style of ``style_size``
    (H, W): one style pass to the deepest level (it gives every level's features; none when
    ``style_cached``), then per level one encoder pass of the current image and one decoder pass, at the
    network width ``channels`` (1 for vgg16-hed, :data:`STUDENT_WIDTH` for the student)."""
    total = 0 if style_cached else encoder_flops(levels[0], *style_size, channels)
    for layer in levels:
        total += encoder_flops(layer, height, width, channels)
        total += decoder_flops(layer, variant, height, width, channels)
    return total


# ----------------------------------------------------------------------------------------------------
# Shipped weights
# ----------------------------------------------------------------------------------------------------


def _check_shipped(variant: str, layer: str, kind: str) -> None:
    check_choice(variant, VARIANTS, "variant")
    check_choice(layer, LAYERS, "layer")
    check_choice(kind, KINDS, "kind")
    if kind == "reconstruct" and variant != "resize":
        raise ValueError("the reconstruction decoders are resize-convolution only: use variant='resize'")


@checked
def weights_path(variant: str = "resize", layer: str = SHIPPED_LAYER, kind: str = "adain") -> Path:
    """``nstlab/data/decoder-{layer}-{variant}.pt`` (kind "adain") or ``decoder-{layer}-reconstruct.pt``
    (kind "reconstruct"); its record is the ``.json`` beside it."""
    _check_shipped(variant, layer, kind)
    return DATA_DIR / f"decoder-{layer}-{variant if kind == 'adain' else kind}.pt"


@checked
def weights_record(
    variant: str = "resize", layer: str = SHIPPED_LAYER, kind: str = "adain"
) -> dict[str, Any]:
    """The json record of shipped weights: sha256, command, steps, wall time, losses, PSNR."""
    path = weights_path(variant, layer, kind).with_suffix(".json")
    if not path.exists():
        flags = "--reconstruct-fraction 1 --style-weight 0 " if kind == "reconstruct" else ""
        raise WeightsError(
            f"no shipped {kind} {variant} decoder for {layer} ({path} is missing). Shipped: the adain "
            f"pair at relu3_1 and the reconstruction decoders at {', '.join(CASCADE)}. Train one with "
            f"`nstlab train-decoder --variant {variant} --layer {layer} {flags}--steps 20000 --out DIR` "
            "and load it with load_decoder(path=DIR/'checkpoint.pt')"
        )
    return json.loads(path.read_text())


@checked
def load_decoder(
    variant: str = "resize",
    layer: str = SHIPPED_LAYER,
    path: str | Path | None = None,
    expected_sha256: str | None = None,
    device: str | torch.device | None = None,
    *,
    kind: str = "adain",
) -> Decoder:
    """A frozen decoder in float32 (eval mode).

    Without ``path``: the shipped weights of ``variant``, ``layer`` and ``kind`` (:data:`KINDS`), verified
    against the sha256 in their json (a mismatch raises :class:`nstlab.weights.WeightsError` naming the
    file, both hashes and the fix). With ``path``: a state dict or a training checkpoint
    (``checkpoint.pt``), checked against ``expected_sha256`` when given.
    """
    _check_shipped(variant, layer, kind)
    if path is None:
        record = weights_record(variant, layer, kind)
        path, expected_sha256 = weights_path(variant, layer, kind), record["sha256"]
        fix = f"pip install --force-reinstall nstlab` (or retrain: `{record['command']}"
    else:
        fix = "obtain the file again or retrain it with `nstlab train-decoder ...`"
    path = Path(path)
    if expected_sha256 is not None:
        verify(path, expected_sha256, fix=fix)
    elif not path.exists():
        raise WeightsError(f"decoder weight file {path} is missing")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (torch raises many kinds for a file that is not a state dict)
        raise WeightsError(f"{path} is not a decoder weight file ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} is not a decoder weight file (it holds a {type(state).__name__})")
    if "model" in state and isinstance(state["model"], dict):  # a training checkpoint
        layer, variant, state = state["config"]["layer"], state["config"]["variant"], state["model"]
    model = Decoder(layer, variant)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as e:
        raise WeightsError(f"{path} does not hold a {variant} decoder for {layer}: {e}") from e
    model.requires_grad_(False).eval()
    return model.to(default_device() if device is None else check_device(device))


# ----------------------------------------------------------------------------------------------------
# The distilled student (trained by :mod:`nstlab.distill`)
# ----------------------------------------------------------------------------------------------------

STUDENT_WIDTH = 0.25
"""The student's share of vgg16-hed's channels: 16-16-32-32-64 up to ``relu3_1`` instead of
64-64-128-128-256, about 1/15 of the multiply-adds (1/16 but for the first layer's 3 input channels)."""
STUDENT_WEIGHTS = DATA_DIR / "distilled-relu3_1.pt"
"""The shipped student (encoder, decoders and embeddings, fp16); its record is the ``.json`` beside it."""


class Student(nn.Module):
    """The narrow encoder E (a :class:`~nstlab.backbones.Backbone` of ``width``, up to the deepest level),
    a decoder g_l per level and the linear embeddings W_l (1x1 convolutions, used only in training)."""

    @checked
    def __init__(self, width: PositiveFloat = STUDENT_WIDTH, levels: tuple[str, ...] = CASCADE):
        super().__init__()
        self.width, self.levels = width, levels
        self.encoder = Backbone("distilled", "vgg16", caffe=True, ceil_mode=True, width=width, last=levels[0])
        teacher_channels = {name: c_out for name, _, _, c_out in vgg_layers("vgg16")}
        self.decoders = nn.ModuleDict({k: Decoder(k, "resize", width) for k in levels})
        self.embeddings = nn.ModuleDict(
            {k: nn.Conv2d(self.encoder.channels[k], teacher_channels[k], 1) for k in levels}
        )

    @checked
    def extra_repr(self) -> str:
        return f"width={self.width}, levels={self.levels}"


@checked
def load_student(
    path: str | Path | None = None,
    device: str | torch.device | None = None,
    expected_sha256: str | None = None,
) -> Student:
    """A frozen student in float32 (eval mode): the shipped one (:data:`STUDENT_WEIGHTS`, verified against the
    sha256 of its json), or ``path`` (an exported .pt or a training ``checkpoint.pt``)."""
    if path is None:
        record = json.loads(STUDENT_WEIGHTS.with_suffix(".json").read_text())
        path, expected_sha256 = STUDENT_WEIGHTS, record["sha256"]
        fix = f"pip install --force-reinstall nstlab` (or retrain: `{record['command']}"
        verify(path, expected_sha256, fix=fix)
    path = Path(path)
    if expected_sha256 is not None and path != STUDENT_WEIGHTS:
        verify(path, expected_sha256, fix="obtain the file again or retrain it with `nstlab distill ...`")
    if not path.exists():
        raise WeightsError(f"student weight file {path} is missing")
    state = torch.load(path, map_location="cpu", weights_only=False)
    width = STUDENT_WIDTH
    if isinstance(state, dict) and "model" in state and "config" in state:  # a training checkpoint
        state, width = state["model"], state["config"]["width"]
    student = Student(width)
    try:
        student.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, AttributeError) as e:
        raise WeightsError(f"{path} does not hold a width-{width} student: {e}") from e
    student.requires_grad_(False).eval()
    return student.to(default_device() if device is None else check_device(device))


@checked
@functools.lru_cache(maxsize=4)
def shipped_student(device: str = "cpu") -> Student:
    """The shipped student, loaded and verified once per process (:func:`load_student`), its weights in
    channels-last order: the narrow convolutions then run without reordering their inputs (measured about
    1.4-1.9x faster on a 2-core CPU, ``benchmarks/README.md``; the same numbers to rounding)."""
    return load_student(device=device).to(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------------------------------
# Fast transfer: encode, transform, decode
# ----------------------------------------------------------------------------------------------------


@checked
def check_size(img: Tensor, layer: str) -> None:
    """Raise a ValueError when an image is smaller than :data:`MIN_SIZE` for ``layer``."""
    check_choice(layer, LAYERS, "layer")
    h, w = img.shape[-2:]
    if min(h, w) < MIN_SIZE[layer]:
        raise ValueError(
            f"image of {w}x{h} px is too small for the {layer} decoder: it needs at least {MIN_SIZE[layer]} "
            f"px per side (4x4 feature positions after the poolings); load it with a larger size="
        )


@checked
def encode(img: Tensor, layer: str = SHIPPED_LAYER, backbone: Backbone | None = None) -> Tensor:
    """f(img): vgg16-hed features at ``layer`` (no gradient)."""
    check_size(img, layer)
    backbone = backbone or load_backbone("vgg16-hed", device=img.device)
    with torch.no_grad():
        return backbone.features(img, [layer])[layer]


@checked
def check_style_weights(style_weights: Sequence[float] | None, n_styles: PositiveInt) -> list[float]:
    """Weights w_k of a style interpolation: one per style, >= 0, summing to 1 (default: equal)."""
    if style_weights is None:
        return [1.0 / n_styles] * n_styles
    w = [float(x) for x in style_weights]
    if len(w) != n_styles:
        raise ValueError(f"got {n_styles} style(s) but {len(w)} style_weights; give one weight per style")
    if min(w) < 0 or not all(math.isfinite(x) for x in w):
        raise ValueError(f"style_weights must be finite and >= 0, got {w}")
    if abs(sum(w) - 1) > 1e-6:
        raise ValueError(f"style_weights must sum to 1 (a convex combination), got sum {sum(w):.6g} for {w}")
    return w


@checked
def style_target(content_features: Tensor, style_features: Tensor, method: str = "adain") -> Tensor:
    """T(f(c), f(s)) at alpha = 1: AdaIN (mean and std per channel) or WCT (full covariance)."""
    check_choice(method, METHODS, "method")
    transform = adain if method == "adain" else wct
    return transform(content_features, style_features, eps=EPS)


@checked
def blend(
    content_features: Tensor,
    targets: Sequence[Tensor],
    alpha: Fraction = 1.0,
    style_weights: Sequence[float] | None = None,
) -> Tensor:
    """t = alpha sum_k w_k T_k + (1 - alpha) f(c): style interpolation (Huang & Belongie sec. 7) and the
    content-style trade-off, from the per-style targets of :func:`style_target` (cheap: a widget caches
    the targets and calls only this and :func:`decode` while a slider moves)."""
    w = check_style_weights(style_weights, len(targets))
    for k, t in enumerate(targets):
        check_same_shape(t, content_features, (f"targets[{k}]", "content_features"))
    if alpha == 1 and len(targets) == 1:  # the transfer itself: no arithmetic on the feature map
        return targets[0]
    mixed = sum(wk * t for wk, t in zip(w, targets, strict=True))
    return alpha * mixed + (1 - alpha) * content_features


@checked
def decode(features: Tensor, decoder: Decoder, size: tuple[ImageSide, ImageSide] | None = None) -> Tensor:
    """g(t) clamped to [0, 1] and cropped to ``size`` (H, W) (the encoder's ceil-mode pooling may round
    odd sizes up)."""
    expected = next(m for m in decoder.modules() if isinstance(m, nn.Conv2d)).in_channels
    if features.ndim != 4 or features.shape[1] != expected:
        raise ValueError(
            f"features must be (B, {expected}, h, w) for the {decoder.layer} decoder, got shape "
            f"{tuple(features.shape)}; encode at {decoder.layer} or load the decoder of your layer"
        )
    with torch.no_grad():
        out = decoder(features.to(next(decoder.parameters()).dtype))
    if size is not None:
        out = out[..., : size[0], : size[1]]
    return out.clamp(0, 1)


def _load(source: Any, name: str, size: int | None, limit: int) -> Tensor:
    """images.load, with a tensor checked first so that its error names the argument the user passed."""
    if isinstance(source, Tensor):
        images.check_image(source if source.ndim != 3 else source[None], name, unit_range=True)
    return images.load(source, size=size, max_size=limit)


def _as_list(style: Any) -> list:
    return list(style) if isinstance(style, list | tuple) else [style]


@checked
def check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    """Cascade levels: shipped reconstruction layers (:data:`CASCADE`), each once, coarse to fine."""
    if isinstance(levels, str):
        raise TypeError(f"levels must be a sequence of layer names, e.g. ({levels!r},), not a string")
    levels = tuple(levels)
    for layer in levels:
        check_choice(layer, CASCADE, "cascade level")
    depth = [LAYERS.index(layer) for layer in levels]
    if not levels or depth != sorted(set(depth), reverse=True):
        raise ValueError(
            f"levels must be distinct layers of {CASCADE}, deepest first (coarse to fine), got {levels}"
        )
    return levels


@checked
def level_transfer(
    image: Tensor,
    style_features: Sequence[Tensor],
    decoder: Decoder,
    method: str = "adain",
    alpha: Fraction = 1.0,
    style_weights: Sequence[float] | None = None,
    backbone: Backbone | None = None,
) -> Tensor:
    """One level of the cascade: g_l(alpha sum_k w_k T(f_l(x), f_l(s_k)) + (1 - alpha) f_l(x)), x = ``image``
    and ``style_features`` the styles' features at the decoder's layer; f the ``backbone`` (default
    vgg16-hed; the distilled student's encoder for its decoders)."""
    fx = encode(image, decoder.layer, backbone)
    targets = [style_target(fx, fs, method) for fs in style_features]
    return decode(blend(fx, targets, alpha, style_weights), decoder, tuple(image.shape[-2:]))


@checked
def networks(encoder: str, levels: Sequence[str], device: str) -> tuple[Backbone, dict[str, Decoder]]:
    """(f, {level: g_l}) of the fast path: the distilled student's encoder and decoders
    (:func:`shipped_student`), or vgg16-hed and its shipped reconstruction decoders."""
    check_choice(encoder, ENCODERS, "encoder")
    if encoder == "distilled":
        student = shipped_student(device)
        return student.encoder, {k: student.decoders[k] for k in levels}
    backbone = load_backbone("vgg16-hed", device=device)
    return backbone, {k: shipped_decoder("resize", k, device, kind="reconstruct") for k in levels}


class StyleStatistics(NamedTuple):
    """What a transform needs of a style at one level: its channel means and, for WCT, its population
    covariance (B, C, 1) and (B, C, C) in float64 (:func:`nstlab.stats.moments64`), for AdaIN its
    stds (B, C) (:func:`nstlab.stats.mean_std`)."""

    mean: Tensor
    spread: Tensor


_STYLE_CACHE: collections.OrderedDict[tuple, dict[str, StyleStatistics]] = collections.OrderedDict()


@checked
def style_statistics(
    style: Tensor, backbone: Backbone, levels: Sequence[str], method: str
) -> dict[str, StyleStatistics]:
    """{level: the style's statistics for ``method``}, computed once per style picture and kept while the
    process runs (the :data:`STYLE_CACHE_SIZE` most recent; keyed by the picture's bytes, so an edited
    picture is summarized again): a style used for many photos costs one encoder pass, and only its
    statistics are kept, whatever the picture's size (for WCT tens of kB for the student, under 1 MB for
    vgg16-hed: float64 covariances)."""
    check_choice(method, METHODS, "method")
    levels = list(levels)
    digest = hashlib.blake2b(style.detach().cpu().contiguous().numpy().tobytes(), digest_size=16).digest()
    key = (backbone.name, tuple(levels), method, str(style.device), style.dtype, tuple(style.shape), digest)
    if key in _STYLE_CACHE:
        _STYLE_CACHE.move_to_end(key)
        return _STYLE_CACHE[key]
    with torch.no_grad():
        feats = backbone.features(style, levels)
    if method == "wct":
        summary = {k: StyleStatistics(*moments64(feats[k].flatten(2))) for k in levels}
    else:
        summary = {k: StyleStatistics(*mean_std(feats[k], eps=EPS)) for k in levels}
    _STYLE_CACHE[key] = summary
    while len(_STYLE_CACHE) > STYLE_CACHE_SIZE:
        _STYLE_CACHE.popitem(last=False)
    return summary


@checked
def statistics_target(content_features: Tensor, statistics: StyleStatistics, method: str) -> Tensor:
    """T(f(c), s) at alpha = 1 from the style's statistics: the same as :func:`style_target` on the
    style's features (:func:`nstlab.transforms.adain_to_moments`,
    :func:`nstlab.transforms.wct_to_moments`)."""
    check_choice(method, METHODS, "method")
    if method == "adain":
        return adain_to_moments(content_features, *statistics, eps=EPS)
    return wct_to_moments(content_features, *statistics, eps=EPS)


@checked
def cascade_transfer(
    image: Tensor,
    styles: Sequence[Tensor],
    levels: Sequence[str] = CASCADE,
    method: str = "wct",
    alpha: Fraction = 1.0,
    style_weights: Sequence[float] | None = None,
    encoder: str = "distilled",
) -> Tensor:
    """The multi-level coarse-to-fine transfer of Li et al. 2017 (Universal Style Transfer, sec. 3.2,
    "multi-level coarse-to-fine stylization"): x_0 = c, x_l = g_l(T(f_l(x_{l-1}), f_l(s))) for the
    ``levels`` from the deepest to the shallowest, each with its shipped reconstruction decoder. The deep
    level moves the large structures and the colours; each shallower level re-imposes the style's
    statistics on finer structures the previous decoder blurred (its receptive field: relu3_1 24 px,
    relu2_1 10 px, relu1_1 3 px). ``encoder``: the networks of :func:`networks`, the distilled student
    (default) or vgg16-hed."""
    levels = check_levels(levels)
    for k, x in enumerate((image, *styles)):
        check_tensor(x, "image" if k == 0 else f"styles[{k - 1}]", TensorSpec(image=True, unit=True))
    backbone, decs = networks(encoder, levels, str(image.device))
    with trusted():  # the pictures are checked above, and every later tensor is made from them
        summaries = [style_statistics(s, backbone, levels, method) for s in styles]
        for layer in levels:
            fx = encode(image, layer, backbone)
            targets = [statistics_target(fx, summary[layer], method) for summary in summaries]
            image = decode(blend(fx, targets, alpha, style_weights), decs[layer], tuple(image.shape[-2:]))
    check_finite(image, "the cascade's output")
    return image


@checked
def stylize_fast(
    content: images.ImageSource,
    style: images.ImageSource | Sequence[images.ImageSource],
    method: str | None = None,
    alpha: Fraction = 1.0,
    preserve_color: str | None = None,
    style_weights: Sequence[float] | None = None,
    *,
    decoder: Decoder | None = None,
    size: ImageSide | None = None,
    levels: Sequence[str] | None = None,
    encoder: str | None = None,
) -> Tensor:
    """Feed-forward style transfer: out = g(alpha sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c)), at one
    layer or at every level of the coarse-to-fine cascade (the default).

    ``content`` and ``style`` are anything :func:`nstlab.images.load` takes (``size`` resizes the long
    side); ``style`` may be a list of styles mixed with ``style_weights`` (>= 0, sum 1; default equal).
    ``method`` "wct" or "adain", applied at every level; by default "wct" for the cascade (the full
    covariance: the style's texture, not only each channel's scale) and "adain" for a one-level ``decoder``
    (what the adain pair was trained for). Without ``decoder``: the coarse-to-fine cascade
    (:func:`cascade_transfer`) over ``levels`` (default :data:`CASCADE`, relu3_1 -> relu2_1 -> relu1_1)
    on the networks of ``encoder``: ``"distilled"`` (the default: the narrow student of
    :mod:`nstlab.distill` and its decoders) or ``"vgg16-hed"`` (the teacher and its shipped reconstruction
    decoders). With ``decoder`` (and no ``levels``): one level, that vgg16-hed decoder at its layer (e.g.
    the adain pair of the checkerboard comparison).
    ``preserve_color`` is one of the modes of :mod:`nstlab.color`, the same as in
    :func:`nstlab.optimize.stylize`: None, ``"luminance"`` (transfer on the luminance, keep the content's
    colours exactly) or ``"moments"`` (each style first takes the content's colour mean and covariance,
    so only the texture is transferred; Gatys et al. 2017 sec. 5, Huang & Belongie sec. 7). Returns
    (1, 3, H, W) in [0, 1].
    """
    method = method or ("adain" if decoder is not None else "wct")
    check_choice(method, METHODS, "method")
    color.check_mode(preserve_color)
    if decoder is not None and levels is not None:
        raise ValueError("give either decoder= (one level) or levels= (the cascade of shipped decoders)")
    if decoder is not None and encoder not in (None, "vgg16-hed"):
        raise ValueError(f"decoder= is a vgg16-hed decoder: it cannot decode {encoder!r} features")
    if encoder is not None:
        check_choice(encoder, ENCODERS, "encoder")
    levels = check_levels(CASCADE if levels is None else levels) if decoder is None else None
    weights = check_style_weights(style_weights, len(_as_list(style)))
    device = next(decoder.parameters()).device if decoder is not None else default_device()
    limit = budget().max_size  # a 6000 px phone photo is downscaled (with a warning) when size is None
    c = _load(content, "content", size, limit).to(device)
    styles = _as_list(style)
    names = [f"style[{k}]" if len(styles) > 1 else "style" for k in range(len(styles))]
    s_imgs = [_load(s, name, size, limit).to(device) for s, name in zip(styles, names, strict=True)]
    s_imgs = color.styles_in(c, s_imgs, preserve_color)
    x = color.content_in(c, preserve_color)
    if decoder is None:
        out = cascade_transfer(x, s_imgs, levels, method, alpha, weights, encoder or "distilled")
    else:
        out = level_transfer(x, [encode(s, decoder.layer) for s in s_imgs], decoder, method, alpha, weights)
    return color.output(out, c, preserve_color)


@checked
@functools.lru_cache(maxsize=8)
def shipped_decoder(
    variant: str = "resize", layer: str = SHIPPED_LAYER, device: str = "cpu", kind: str = "adain"
) -> Decoder:
    """A shipped decoder, loaded and verified once per process (:func:`load_decoder`)."""
    return load_decoder(variant, layer, device=device, kind=kind)


@checked
def feature_decoder(layer: str = SHIPPED_LAYER, device: str = "cpu") -> Callable[[Tensor], Tensor]:
    """features at ``layer`` (1, C, h, w) -> picture (1, 3, H, W): the shipped reconstruction decoder of
    ``layer``, the ``decode=`` of :class:`nstlab.widgets.AdaINDemo` and :class:`~nstlab.widgets.WCTDemo`
    (it shows what the transformed features hold, nothing added). The picture has 2^p times the feature
    map's size, p the layer's poolings: a row or column more than the image for odd sizes (ceil-mode
    pooling)."""
    decoder = shipped_decoder("resize", layer, device, kind="reconstruct")
    return functools.partial(decode, decoder=decoder)


@checked
def psnr(x: Tensor, y: Tensor) -> float:
    """Peak signal-to-noise ratio 10 log10(1 / MSE) in dB for images in [0, 1]."""
    check_same_shape(x, y, ("x", "y"))
    mse = float((x.double() - y.double()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


@checked
def reconstruct(img: Tensor, decoder: Decoder) -> Tensor:
    """g(f(img)): the decoder's reconstruction of an image from its own features."""
    return decode(encode(img, decoder.layer), decoder, tuple(img.shape[-2:]))


class TargetDistances(NamedTuple):
    """Position-wise distances at the decoder's layer for one content/style pair (see
    :func:`target_distances`)."""

    output: float  # ||f(out) - t|| / ||f(c) - t||: below 1, the output is closer to t than the content
    shift: float  # ||f(c) - t|| / ||t||: how far AdaIN moves the content's features
    reconstruction_error: float  # ||f(g(f(c))) - f(c)|| / ||f(c)||: the decoder's own error on the content


@checked
def target_distances(
    content: Tensor, style: Tensor, decoder: Decoder, backbone: Backbone | None = None
) -> TargetDistances:
    """How close ``stylize_fast(content, style)`` (AdaIN, alpha = 1) comes to its target t = AdaIN(f(c),
    f(s)), position by position, at the decoder's layer.

    The decoder reproduces features only up to its own error (``reconstruction_error``, measured on the
    content's reconstruction), so the output lands closer to t than the content's features
    (``output < 1``) when the AdaIN ``shift`` is large against that error, and not when the style's
    statistics are close to the content's.
    """
    backbone = backbone or load_backbone("vgg16-hed", device=content.device)
    fc, fs = (encode(x, decoder.layer, backbone) for x in (content, style))
    t = style_target(fc, fs)
    fo = encode(stylize_fast(content, style, decoder=decoder), decoder.layer, backbone)
    f_rec = encode(reconstruct(content, decoder), decoder.layer, backbone)
    d_content = (fc - t).norm()
    return TargetDistances(
        float((fo - t).norm() / d_content),
        float(d_content / t.norm()),
        float((f_rec - fc).norm() / fc.norm()),
    )


# ----------------------------------------------------------------------------------------------------
# Measures of a fast transfer that use neither our encoder nor a peer's
# ----------------------------------------------------------------------------------------------------

RANDOM_NET_WIDTHS = (32, 64, 128, 256)  # four stages of two 3x3 convolutions, 2x average pooling between
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@checked
@functools.lru_cache(maxsize=4)
def random_net(seed: NonNegativeInt = 0) -> nn.ModuleList:
    """A seeded random conv net for judging style: 4 stages of two 3x3 convolutions (reflection padding,
    ReLU), widths 32-64-128-256, Kaiming-normal weights N(0, 2 / fan_in) and zero biases; stage k sees
    windows of 5, 14, 32 and 68 px. Random shallow nets carry natural-texture statistics well enough to
    synthesise textures (Ustyuzhaninov et al. 2017, "What does it take to generate natural textures?"),
    and this one shares nothing with vgg16-hed or a peer's network, so a measure in it favours neither."""
    g = torch.Generator().manual_seed(seed)
    stages, c_in = nn.ModuleList(), 3
    for width in RANDOM_NET_WIDTHS:
        convs: list[nn.Module] = []
        for k in range(2):
            conv = nn.Conv2d(c_in if k == 0 else width, width, 3, padding=1, padding_mode="reflect")
            with torch.no_grad():
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=g) * (2 / (conv.in_channels * 9)) ** 0.5
                )
                conv.bias.zero_()
            convs += [conv, nn.ReLU()]
        stages.append(nn.Sequential(*convs))
        c_in = width
    return stages.requires_grad_(False).eval()


@checked
def random_net_grams(img: Tensor, seed: NonNegativeInt = 0, centered: bool = False) -> list[Tensor]:
    """G_k = F_k F_k^T / N_k (:func:`nstlab.stats.gram`, ``normalize="n"``) of each stage of
    :func:`random_net` for a (1, 3, H, W) image in [0, 1] (ImageNet-normalized first), in float64.
    ``centered``: the mean of each channel removed first (the covariance: texture without the mean colour)."""
    from .stats import gram

    x = (images.check_image(img).float().cpu() - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        IMAGENET_STD
    ).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for k, stage in enumerate(random_net(seed)):
            x = stage(nn.functional.avg_pool2d(x, 2) if k else x)
            F = x.double()
            out.append(gram(F - F.mean((-2, -1), keepdim=True) if centered else F, normalize="n")[0])
    return out


@checked
def gram_distance(grams_x: Sequence[Tensor], grams_s: Sequence[Tensor]) -> float:
    """D(x, s) = sum_k ||G_k(x) - G_k(s)||_F^2 / ||G_k(s)||_F^2 (each stage relative to the style's)."""
    if len(grams_x) != len(grams_s):
        raise ValueError(
            f"grams_x has {len(grams_x)} stages but grams_s has {len(grams_s)}; pass one Gram each"
        )
    for k, (gx, gs) in enumerate(zip(grams_x, grams_s, strict=True)):
        check_same_shape(gx, gs, (f"grams_x[{k}]", f"grams_s[{k}]"))
    return float(
        sum((gx - gs).pow(2).sum() / gs.pow(2).sum() for gx, gs in zip(grams_x, grams_s, strict=True))
    )


@checked
def style_distance(
    output: Tensor, content: Tensor, style: Tensor, seed: NonNegativeInt = 0, centered: bool = False
) -> float:
    """How much of the style arrived: D(output, s) / D(content, s) with :func:`gram_distance` in the random
    net (:func:`random_net_grams`). 1 = the output is as far from the style's Gram matrices as the content
    (no style arrived), 0 = they are reached exactly; above 1, farther than the content. ``centered``:
    covariances instead of Gram matrices, which ignores how well the mean colour arrived."""
    gs = random_net_grams(style, seed, centered)
    d_content = gram_distance(random_net_grams(content, seed, centered), gs)
    if d_content == 0:
        raise ValueError("content and style have the same Gram matrices: the distance ratio is undefined")
    return gram_distance(random_net_grams(output, seed, centered), gs) / d_content


@checked
def content_ssim(output: Tensor, content: Tensor) -> float:
    """Structural similarity (Wang et al. 2004; :func:`skimage.metrics.structural_similarity`, 7x7
    windows, data range 1) of the output's and the content's luminance (:func:`nstlab.color.luminance`):
    how much of the content's local structure survives (1 = all, about 0 = none)."""
    from skimage.metrics import structural_similarity

    from .color import luminance

    if output.shape[-2:] != content.shape[-2:]:
        raise ValueError(f"output {tuple(output.shape)} and content {tuple(content.shape)} differ in size")
    y_out, y_content = (luminance(x.double().cpu())[0, 0].numpy() for x in (output, content))
    return float(structural_similarity(y_out, y_content, data_range=1.0))
