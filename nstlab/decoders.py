"""Feed-forward decoders for fast arbitrary style transfer (Huang & Belongie 2017, "Arbitrary Style
Transfer in Real-time with Adaptive Instance Normalization", ICCV; Li et al. 2017, "Universal Style
Transfer via Feature Transforms", NeurIPS).

Fast transfer is encode -> transform -> decode:

    t = alpha * sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c),    out = g(t),

with f the frozen ``vgg16-hed`` encoder up to ``layer``, T = AdaIN or WCT (:mod:`nstlab.transforms`) and g
a decoder trained once, so stylizing costs one encoder and one decoder pass instead of hundreds of
optimization steps.

The decoder mirrors the encoder: every 3x3 convolution in reverse order with the channel widths mirrored
(256 -> 128 -> 128 -> 64 -> 64 -> 3 for ``relu3_1``), reflection padding, ReLU after every layer but the
last, and every 2x2 pooling replaced by a 2x upsampling merged with the convolution that follows it:

- ``"transposed"``: a transposed convolution, kernel 3, stride 2. Its kernel taps overlap unevenly (output
  pixels alternately receive 1 and 2 taps per axis), the checkerboard of Odena et al. 2016 at 1/2
  cycles/pixel (see :mod:`nstlab.artifacts`).
- ``"resize"``: nearest-neighbour upsampling by 2, then a 3x3 convolution (resize-convolution): every
  input pixel is spread evenly, no built-in checkerboard.

Training (:func:`train_decoder`) follows Huang & Belongie sec. 6: with t = AdaIN(f(c), f(s)),

    L = ||f(g(t)) - t||^2  +  lambda sum_{i} ||mu(phi_i(g(t))) - mu(phi_i(s))||^2
                                            + ||sigma(phi_i(g(t))) - sigma(phi_i(s))||^2,

squared norms as means over entries, phi_i = relu1_1, relu2_1, relu3_1 (and relu4_1 for the deeper
decoder). Half of each batch is instead decoded from the content's own features (t = f(c)) with the
pixel loss mu ||g(f(c)) - c||^2 of the reconstruction decoders of Li et al. 2017 added: the encoder here
is HED's VGG16, fine-tuned for edges, whose relu3_1 features say little about flat colour, and with the
feature losses alone a short run learned edges but not colours (reconstruction PSNR ~10 dB). The shipped
runs use lambda = 2, not the paper's 10: with 10 the outputs matched the style statistics but their
features stayed, position by position, farther from t than the content's (:func:`target_distances`).

The shipped weights (``nstlab/data/decoder-relu3_1-{resize,transposed}.pt``, fp16, with a json
giving their sha256 and the exact command) are for ``layer="relu3_1"`` only: one vgg16-hed pass to
relu3_1 plus the decoder is ~30 GFLOP at 256 px, real time on a 2-core CPU, while relu4_1 would be ~53
GFLOP at 256 px (~1.4 s at 512 px) and its training would not fit the hour of CPU the shipped run had.
``layer="relu4_1"`` is supported by the model and the training (``nstlab train-decoder --layer relu4_1``).

WCT here is single-level (one transform at the decoder's layer, the same decoder): no per-level decoders
are trained, so the coarse-to-fine multi-level WCT of Li et al. is not offered.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import artifacts, images
from . import transforms as T
from .backbones import Backbone, load_backbone, vgg_layers
from .weights import WeightsError, sha256, verify

VARIANTS = ("resize", "transposed")
LAYERS = ("relu3_1", "relu4_1")
METHODS = ("adain", "wct")
SHIPPED_LAYER = "relu3_1"
STYLE_LAYERS = {
    "relu3_1": ("relu1_1", "relu2_1", "relu3_1"),
    "relu4_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
}
# The smallest image side per layer: 4x4 feature positions after the 2x poolings, so that the per-channel
# statistics of AdaIN/WCT are not computed from a handful of numbers.
MIN_SIZE = {"relu3_1": 16, "relu4_1": 32}
DATA_DIR = Path(__file__).parent / "data"
HELD_OUT = ("coffee",)  # never trained on: the reconstruction test measures PSNR on it
CONTENT_EXCLUDED = ("immunohistochemistry", "retina")  # not natural photographs
EPS = 1e-5


def _check_choice(value: str, choices: Sequence[str], name: str) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


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


def decoder_spec(layer: str) -> list[tuple[str, int, int, bool]]:
    """The decoder's convolutions mirroring vgg16 up to ``layer``: (mirrored conv, c_in, c_out, upsample).

    Walks the encoder backwards: encoder conv (a -> b) becomes decoder conv (b -> a); a pooling becomes an
    upsampling merged into the convolution after it.
    """
    _check_choice(layer, LAYERS, "layer")
    spec = vgg_layers("vgg16")
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

    def __init__(self, layer: str = SHIPPED_LAYER, variant: str = "resize"):
        super().__init__()
        _check_choice(variant, VARIANTS, "variant")
        self.layer, self.variant = layer, variant
        modules: dict[str, nn.Module] = {}
        spec = decoder_spec(layer)
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

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features * self.input_scale)

    def extra_repr(self) -> str:
        return f"layer={self.layer!r}, variant={self.variant!r}"


def decoder_flops(layer: str, variant: str, height: int, width: int) -> int:
    """Multiply-adds x 2 of the decoder for an output of height x width (from the layer shapes)."""
    spec, total = decoder_spec(layer), 0
    scale = 2 ** sum(up for *_, up in spec)
    h, w = math.ceil(height / scale), math.ceil(width / scale)
    for _, c_in, c_out, up in spec:
        if up:
            h, w = 2 * h, 2 * w
        total += 2 * 9 * c_in * c_out * h * w  # the transposed conv has the same count per output pixel
    return total


def encoder_flops(layer: str, height: int, width: int) -> int:
    """Multiply-adds x 2 of vgg16 up to ``layer`` for a height x width input (ceil-mode pooling)."""
    total, h, w = 0, height, width
    for name, kind, c_in, c_out in vgg_layers("vgg16"):
        if kind == "conv":
            total += 2 * 9 * c_in * c_out * h * w
        elif kind == "pool":
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        if name == layer:
            break
    return total


# ----------------------------------------------------------------------------------------------------
# Shipped weights
# ----------------------------------------------------------------------------------------------------


def weights_path(variant: str = "resize", layer: str = SHIPPED_LAYER) -> Path:
    """``nstlab/data/decoder-{layer}-{variant}.pt``; its record is the ``.json`` beside it."""
    return DATA_DIR / f"decoder-{layer}-{variant}.pt"


def weights_record(variant: str = "resize", layer: str = SHIPPED_LAYER) -> dict[str, Any]:
    """The json record of shipped weights: sha256, command, steps, wall time, losses, PSNR."""
    path = weights_path(variant, layer).with_suffix(".json")
    if not path.exists():
        raise WeightsError(
            f"no shipped {variant} decoder for {layer} ({path} is missing). Shipped: relu3_1 only. Train one "
            f"with `nstlab train-decoder --variant {variant} --layer {layer} --steps 20000 --out DIR` and "
            "load it with load_decoder(path=DIR/'checkpoint.pt')"
        )
    return json.loads(path.read_text())


def load_decoder(
    variant: str = "resize",
    layer: str = SHIPPED_LAYER,
    path: str | Path | None = None,
    expected_sha256: str | None = None,
    device: str | torch.device | None = None,
) -> Decoder:
    """A frozen decoder in float32 (eval mode).

    Without ``path``: the shipped weights of ``variant`` and ``layer``, verified against the sha256 in
    their json (a mismatch raises :class:`nstlab.weights.WeightsError` naming the file, both hashes and
    the fix). With ``path``: a state dict or a training checkpoint (``checkpoint.pt``), checked against
    ``expected_sha256`` when given.
    """
    _check_choice(variant, VARIANTS, "variant")
    _check_choice(layer, LAYERS, "layer")
    if path is None:
        record = weights_record(variant, layer)
        path, expected_sha256 = weights_path(variant, layer), record["sha256"]
        fix = f"pip install --force-reinstall nstlab` (or retrain: `{record['command']}"
    else:
        fix = "obtain the file again or retrain it with `nstlab train-decoder ...`"
    path = Path(path)
    if expected_sha256 is not None:
        verify(path, expected_sha256, fix=fix)
    elif not path.exists():
        raise WeightsError(f"decoder weight file {path} is missing")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "model" in state and isinstance(state["model"], dict):  # a training checkpoint
        layer, variant, state = state["config"]["layer"], state["config"]["variant"], state["model"]
    model = Decoder(layer, variant)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as e:
        raise WeightsError(f"{path} does not hold a {variant} decoder for {layer}: {e}") from e
    model.requires_grad_(False).eval()
    if device is None:
        from .budget import device as default_device

        device = default_device()
    return model.to(device)


# ----------------------------------------------------------------------------------------------------
# Fast transfer: encode, transform, decode
# ----------------------------------------------------------------------------------------------------


def check_size(img: Tensor, layer: str) -> None:
    """Raise a ValueError when an image is smaller than :data:`MIN_SIZE` for ``layer``."""
    h, w = img.shape[-2:]
    if min(h, w) < MIN_SIZE[layer]:
        raise ValueError(
            f"image of {w}x{h} px is too small for the {layer} decoder: it needs at least {MIN_SIZE[layer]} "
            f"px per side (4x4 feature positions after the poolings); load it with a larger size="
        )


def encode(img: Tensor, layer: str = SHIPPED_LAYER, backbone: Backbone | None = None) -> Tensor:
    """f(img): vgg16-hed features at ``layer`` (no gradient)."""
    check_size(img, layer)
    backbone = backbone or load_backbone("vgg16-hed", device=img.device)
    with torch.no_grad():
        return backbone.features(img, [layer])[layer]


def check_style_weights(style_weights: Sequence[float] | None, n_styles: int) -> list[float]:
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


def style_target(content_features: Tensor, style_features: Tensor, method: str = "adain") -> Tensor:
    """T(f(c), f(s)) at alpha = 1: AdaIN (mean and std per channel) or WCT (full covariance)."""
    _check_choice(method, METHODS, "method")
    if method == "adain":
        return T.adain(content_features, style_features, eps=EPS)
    return T.wct(content_features, style_features, eps=EPS)


def blend(
    content_features: Tensor,
    targets: Sequence[Tensor],
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
) -> Tensor:
    """t = alpha sum_k w_k T_k + (1 - alpha) f(c): style interpolation (Huang & Belongie sec. 7) and the
    content-style trade-off, from the per-style targets of :func:`style_target` (cheap: a widget caches
    the targets and calls only this and :func:`decode` while a slider moves)."""
    if not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1] (0 = content, 1 = full style), got {alpha!r}")
    w = check_style_weights(style_weights, len(targets))
    mixed = sum(wk * t for wk, t in zip(w, targets, strict=True))
    return alpha * mixed + (1 - alpha) * content_features


def decode(features: Tensor, decoder: Decoder, size: tuple[int, int] | None = None) -> Tensor:
    """g(t) clamped to [0, 1] and cropped to ``size`` (H, W) (the encoder's ceil-mode pooling may round
    odd sizes up)."""
    with torch.no_grad():
        out = decoder(features.to(next(decoder.parameters()).dtype))
    if size is not None:
        out = out[..., : size[0], : size[1]]
    return out.clamp(0, 1)


def _as_list(style: Any) -> list:
    return list(style) if isinstance(style, list | tuple) else [style]


def stylize_fast(
    content: images.ImageSource,
    style: images.ImageSource | Sequence[images.ImageSource],
    method: str = "adain",
    alpha: float = 1.0,
    preserve_color: bool = False,
    style_weights: Sequence[float] | None = None,
    *,
    decoder: Decoder | None = None,
    size: int | None = None,
) -> Tensor:
    """Feed-forward style transfer: out = g(alpha sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c)).

    ``content`` and ``style`` are anything :func:`nstlab.images.load` takes (``size`` resizes the long
    side); ``style`` may be a list of styles mixed with ``style_weights`` (>= 0, sum 1; default equal).
    ``method`` "adain" or "wct" (single-level WCT with the same decoder: no per-level decoders).
    ``preserve_color`` first gives each style the content's colours (:func:`nstlab.transforms.color_transfer`,
    Gatys et al. 2017 / Huang & Belongie sec. 7), so only the texture is transferred.
    ``decoder`` defaults to the shipped resize-convolution decoder. Returns (1, 3, H, W) in [0, 1].
    """
    _check_choice(method, METHODS, "method")
    if not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1] (0 = content, 1 = full style), got {alpha!r}")
    styles = _as_list(style)
    weights = check_style_weights(style_weights, len(styles))
    if decoder is None:
        from .budget import device as default_device

        decoder = shipped_decoder(device=str(default_device()))
    device = next(decoder.parameters()).device
    c = images.load(content, size=size).to(device)
    s_imgs = [images.load(s, size=size).to(device) for s in styles]
    if preserve_color:
        s_imgs = [T.color_transfer(s, c, method="wct") for s in s_imgs]
    fc = encode(c, decoder.layer)
    targets = [style_target(fc, encode(s, decoder.layer), method) for s in s_imgs]
    return decode(blend(fc, targets, alpha, weights), decoder, tuple(c.shape[-2:]))


@functools.lru_cache(maxsize=4)
def shipped_decoder(variant: str = "resize", layer: str = SHIPPED_LAYER, device: str = "cpu") -> Decoder:
    """The shipped decoder, loaded and verified once per process (the default of :func:`stylize_fast`)."""
    return load_decoder(variant, layer, device=device)


def psnr(x: Tensor, y: Tensor) -> float:
    """Peak signal-to-noise ratio 10 log10(1 / MSE) in dB for images in [0, 1]."""
    mse = float((x.double() - y.double()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def reconstruct(img: Tensor, decoder: Decoder) -> Tensor:
    """g(f(img)): the decoder's reconstruction of an image from its own features."""
    return decode(encode(img, decoder.layer), decoder, tuple(img.shape[-2:]))


class TargetDistances(NamedTuple):
    """Position-wise distances at the decoder's layer for one content/style pair (see
    :func:`target_distances`)."""

    output: float  # ||f(out) - t|| / ||f(c) - t||: below 1, the output is closer to t than the content
    shift: float  # ||f(c) - t|| / ||t||: how far AdaIN moves the content's features
    reconstruction_error: float  # ||f(g(f(c))) - f(c)|| / ||f(c)||: the decoder's own error on the content


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


def luminance(img: Tensor) -> Tensor:
    """Y = 0.299 R + 0.587 G + 0.114 B of a (1, 3, H, W) image as an (H, W) float64 tensor, cropped to
    even sizes so that 1/2 cycles/pixel is an FFT bin."""
    y = T.rgb_to_yiq(images.check_image(img).double())[0, 0]
    return y[: y.shape[0] // 2 * 2, : y.shape[1] // 2 * 2]


def hann_windowed(y: Tensor) -> Tensor:
    """An (H, W) signal times the separable Hann window w(n) = sin^2(pi n / L) (periodic), mean removed
    first so that the window does not turn the mean into low-frequency power."""
    h, w = y.shape
    win = torch.outer(torch.hann_window(h, dtype=y.dtype), torch.hann_window(w, dtype=y.dtype))
    return (y - y.mean()) * win


def nyquist_peak(img: Tensor) -> float:
    """Checkerboard peak of an image: the mean power of its luminance spectrum at the period-2 bins
    (1/2, 0), (0, 1/2), (1/2, 1/2) cycles/pixel divided by the median power of the high-frequency band
    max(|f_y|, |f_x|) >= 3/8 around them (:func:`nstlab.artifacts.spectrum` of the luminance times a 2-D
    Hann window, which keeps the image borders from leaking power along the axes). About 1 for a smooth
    spectrum; much larger when a stride-2 transposed convolution stamps its overlap pattern."""
    (fy, fx), mag = artifacts.spectrum(hann_windowed(luminance(img)))
    power = mag.pow(2)
    ay, ax = fy.abs()[:, None], fx.abs()[None, :]
    peak = ((ay == 0.5) & (ax == 0.5)) | ((ay == 0.5) & (ax == 0)) | ((ay == 0) & (ax == 0.5))
    band = (torch.maximum(ay, ax) >= 0.375) & ~peak
    return float(power[peak].mean() / power[band].median())


# ----------------------------------------------------------------------------------------------------
# Training (Huang & Belongie 2017, sec. 6)
# ----------------------------------------------------------------------------------------------------


def _image_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    suffixes = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise ValueError(f"no images (.png, .jpg, .jpeg, .bmp, .webp) in {folder}")
    return files


def content_pool(content_dir: str | Path | None = None, max_side: int = 512) -> list[Tensor]:
    """Training content: the bundled photos except :data:`HELD_OUT` and :data:`CONTENT_EXCLUDED`, plus
    the images of ``content_dir``; long side at most ``max_side``."""
    names = [n for n in images.PHOTOS if n not in HELD_OUT + CONTENT_EXCLUDED]
    sources: list[Any] = names + (_image_files(content_dir) if content_dir else [])
    return [_fit(images.load(s, max_size=10**6), max_side) for s in sources]


def style_pool(
    style_dir: str | Path | None = None, seeds: Sequence[int] = (0, 1, 2), max_side: int = 512
) -> list[Tensor]:
    """Training styles: the bundled textures, the procedural styles with several ``seeds``, and the
    images of ``style_dir``."""
    pool = [images.load(n, max_size=10**6) for n in images.TEXTURES]
    pool += [images.load(n, seed=s, max_size=10**6) for n in images.STYLES for s in seeds]
    pool += [images.load(p, max_size=10**6) for p in (_image_files(style_dir) if style_dir else [])]
    return [_fit(p, max_side) for p in pool]


def _fit(img: Tensor, max_side: int) -> Tensor:
    return images.resize(img, max_side) if max(img.shape[-2:]) > max_side else img


def random_crops(pool: Sequence[Tensor], n: int, crop: int, generator: torch.Generator) -> Tensor:
    """n random crops (n, 3, crop, crop): a random image, rescaled so its short side is uniform in
    [crop, short side], a random crop position and a horizontal flip with probability 1/2."""
    out = []
    for _ in range(n):
        img = pool[int(torch.randint(len(pool), (1,), generator=generator))]
        h, w = img.shape[-2:]
        short = min(h, w)
        target = crop + int(torch.randint(max(1, short - crop + 1), (1,), generator=generator))
        if target != short:
            scale = target / short
            img = nnf.interpolate(
                img,
                size=(max(crop, round(h * scale)), max(crop, round(w * scale))),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            ).clamp(0, 1)
        h, w = img.shape[-2:]
        y = int(torch.randint(h - crop + 1, (1,), generator=generator))
        x = int(torch.randint(w - crop + 1, (1,), generator=generator))
        patch = img[..., y : y + crop, x : x + crop]
        if bool(torch.rand(1, generator=generator) < 0.5):
            patch = patch.flip(-1)
        out.append(patch)
    return torch.cat(out)


@dataclass
class StyleBank:
    """Per-layer channel means and stds (n, C) of n style crops, computed once before training (the
    style images are fixed, so their statistics need not be recomputed every step)."""

    mean: dict[str, Tensor]
    std: dict[str, Tensor]

    @property
    def scale(self) -> dict[str, float]:
        """Mean activation of each layer over the bank: the losses divide features by it, which puts every
        layer on the scale of the mean-1 normalized VGG of Gatys et al. that Huang & Belongie use."""
        return {k: float(v.mean()) for k, v in self.mean.items()}

    def pick(self, index: Tensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        return ({k: v[index] for k, v in self.mean.items()}, {k: v[index] for k, v in self.std.items()})


def _moments(F: Tensor) -> tuple[Tensor, Tensor]:
    """(B, C) channel means and stds sqrt(var + eps) of a (B, C, H, W) map, differentiable."""
    M = F.flatten(2)
    return M.mean(-1), (M.var(-1, correction=0) + EPS).sqrt()


def style_bank(
    backbone: Backbone,
    pool: Sequence[Tensor],
    layers: Sequence[str],
    n: int,
    crop: int,
    seed: int,
    batch: int = 16,
) -> StyleBank:
    """Statistics of n seeded random crops of the style pool at ``layers``."""
    g = torch.Generator().manual_seed(seed + 7919)
    means: dict[str, list[Tensor]] = {k: [] for k in layers}
    stds: dict[str, list[Tensor]] = {k: [] for k in layers}
    with torch.no_grad():
        for start in range(0, n, batch):
            feats = backbone.features(random_crops(pool, min(batch, n - start), crop, g), layers)
            for k in layers:
                mu, sd = _moments(feats[k])
                means[k].append(mu)
                stds[k].append(sd)
    return StyleBank({k: torch.cat(v) for k, v in means.items()}, {k: torch.cat(v) for k, v in stds.items()})


def adain_from_moments(fc: Tensor, mu_s: Tensor, sd_s: Tensor) -> Tensor:
    """AdaIN(x, s) = sigma_s (x - mu_x) / sigma_x + mu_s with the style's moments given (B, C)."""
    mu_c, sd_c = (m[..., None, None] for m in _moments(fc))
    return sd_s[..., None, None] * (fc - mu_c) / sd_c + mu_s[..., None, None]


class Losses(NamedTuple):
    """The weighted total and the three terms of :func:`decoder_loss` (0-d tensors)."""

    total: Tensor
    content: Tensor
    style: Tensor
    pixel: Tensor


def decoder_loss(
    backbone: Backbone,
    decoder: Decoder,
    content: Tensor,
    mu_s: dict[str, Tensor],
    sd_s: dict[str, Tensor],
    style_weight: float,
    scale: dict[str, float],
    n_reconstruct: int = 0,
    pixel_weight: float = 0.0,
) -> Losses:
    """Losses of one batch. The first B - n_reconstruct samples are style samples, t = AdaIN(f(c), s);
    the last n_reconstruct are reconstruction samples, t = f(c).

    L_c = mean (f(g(t)) - t)^2 over all samples; L_s = sum_i mean (mu_i(g(t)) - mu_i(s))^2 +
    mean (sigma_i(g(t)) - sigma_i(s))^2 over the style samples (Huang & Belongie 2017, eq. 11-12);
    L_p = mean (g(f(c)) - c)^2 over the reconstruction samples (the pixel loss of Li et al. 2017's
    decoders). Features are divided by each layer's mean activation ``scale`` (:attr:`StyleBank.scale`).
    total = L_c + style_weight L_s + pixel_weight L_p.
    """
    layer, n_style = decoder.layer, content.shape[0] - n_reconstruct
    with torch.no_grad():
        fc = backbone.features(content, [layer])[layer]
        t = torch.cat(
            [adain_from_moments(fc[:n_style], mu_s[layer][:n_style], sd_s[layer][:n_style]), fc[n_style:]]
        )
    out = decoder(t)
    feats = backbone.features(out, STYLE_LAYERS[layer])
    loss_c = nnf.mse_loss(feats[layer], t) / scale[layer] ** 2
    loss_s = out.new_zeros(())
    if n_style > 0:
        for name in STYLE_LAYERS[layer]:
            mu, sd = _moments(feats[name][:n_style])
            loss_s = (
                loss_s
                + (nnf.mse_loss(mu, mu_s[name][:n_style]) + nnf.mse_loss(sd, sd_s[name][:n_style]))
                / scale[name] ** 2
            )
    loss_p = nnf.mse_loss(out[n_style:], content[n_style:]) if n_reconstruct else out.new_zeros(())
    return Losses(loss_c + style_weight * loss_s + pixel_weight * loss_p, loss_c, loss_s, loss_p)


@dataclass
class TrainConfig:
    """Settings of a decoder training run (saved in every checkpoint)."""

    variant: str = "resize"
    layer: str = SHIPPED_LAYER
    steps: int = 2000
    batch_size: int = 4
    crop: int = 96
    lr: float = 1e-3
    lr_decay_steps: float = 500.0  # lr_t = lr min(1, (t + 1) / warmup_steps) / (1 + t / lr_decay_steps)
    warmup_steps: int = 20
    style_weight: float = 2.0  # the paper's 10 left f(g(t)) farther from t than f(c) here
    reconstruct_fraction: float = 0.5  # share of each batch decoded from the content's own features
    pixel_weight: float = 300.0
    seed: int = 0
    style_bank: int = 512
    checkpoint_every: int = 100
    content_dir: str | None = None
    style_dir: str | None = None


@dataclass
class TrainResult:
    """The trained decoder, the loss history (one dict per step) and the checkpoint path."""

    decoder: Decoder
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None


def _save_checkpoint(
    path: Path,
    decoder: Decoder,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    step: int,
    history: list[dict[str, float]],
    config: TrainConfig,
    seconds: float,
) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": decoder.state_dict(),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "step": step,
            "history": history,
            "config": vars(config),
            "seconds": seconds,
        },
        tmp,
    )
    tmp.replace(path)
    write_loss_curve(history, path.parent, plot=step == config.steps)


def write_loss_curve(history: list[dict[str, float]], folder: Path, plot: bool = True) -> None:
    """losses.csv (step, total, content, style, lr, seconds) and, with ``plot``, losses.png in ``folder``."""
    if not history:
        return
    with open(folder / "losses.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    if not plot:
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["step"] for h in history]
    for key in ("total", "content", "style", "pixel"):
        ax.semilogy(steps, [h[key] for h in history], label=key, lw=0.8)
    ax.set(xlabel="step", ylabel="loss", title="decoder training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "losses.png", dpi=100)
    plt.close(fig)


def train_decoder(
    out: str | Path,
    config: TrainConfig | None = None,
    resume: bool = False,
    progress: bool = True,
    backbone: Backbone | None = None,
    contents: Sequence[Tensor] | None = None,
    styles: Sequence[Tensor] | None = None,
) -> TrainResult:
    """Train a decoder (Huang & Belongie 2017, sec. 6; loss in the module docstring) with Adam.

    Content: seeded random crops and flips of the bundled photos (never :data:`HELD_OUT`) and of
    ``config.content_dir``; styles: crops of the bundled textures, the procedural styles (seeds 0-2) and
    ``config.style_dir``, their statistics precomputed in a :class:`StyleBank`. All randomness comes from
    one generator seeded by ``config.seed`` whose state is checkpointed with the model and the optimizer
    every ``checkpoint_every`` steps in ``out/checkpoint.pt``, so ``resume=True`` continues exactly where
    an uninterrupted run would be. The loss curve is written to ``out/losses.csv`` and ``losses.png``.
    ``contents`` and ``styles`` replace the image pools (lists of (1, 3, H, W) images; for tests).
    """
    config = config or TrainConfig()
    _check_choice(config.variant, VARIANTS, "variant")
    _check_choice(config.layer, LAYERS, "layer")
    if config.crop < MIN_SIZE[config.layer]:
        raise ValueError(
            f"crop {config.crop} px is below the {MIN_SIZE[config.layer]} px the {config.layer} decoder needs"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    backbone = backbone or load_backbone("vgg16-hed", device="cpu")
    torch.manual_seed(config.seed)
    decoder = Decoder(config.layer, config.variant).train()
    opt = torch.optim.Adam(decoder.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    step, history, seconds = 0, [], 0.0
    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}; start without --resume")
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if (ckpt["config"]["variant"], ckpt["config"]["layer"]) != (config.variant, config.layer):
            raise ValueError(
                f"{ckpt_path} is a {ckpt['config']['variant']} {ckpt['config']['layer']} run; "
                f"asked to resume {config.variant} {config.layer}"
            )
        decoder.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        step, history, seconds = ckpt["step"], ckpt["history"], ckpt["seconds"]
    contents = list(contents) if contents is not None else content_pool(config.content_dir)
    styles = list(styles) if styles is not None else style_pool(config.style_dir)
    layers = STYLE_LAYERS[config.layer]
    bank = style_bank(backbone, styles, layers, config.style_bank, config.crop, config.seed)
    decoder.input_scale.fill_(1 / bank.scale[config.layer])
    bar = tqdm(
        total=config.steps,
        initial=step,
        desc=f"decoder {config.layer} {config.variant}",
        disable=not progress,
    )
    while step < config.steps:
        start = time.perf_counter()
        lr = config.lr * min(1.0, (step + 1) / config.warmup_steps) / (1 + step / config.lr_decay_steps)
        for group in opt.param_groups:
            group["lr"] = lr
        batch = random_crops(contents, config.batch_size, config.crop, gen)
        mu_s, sd_s = bank.pick(torch.randint(config.style_bank, (config.batch_size,), generator=gen))
        n_rec = round(config.reconstruct_fraction * config.batch_size)
        total, loss_c, loss_s, loss_p = decoder_loss(
            backbone, decoder, batch, mu_s, sd_s, config.style_weight, bank.scale, n_rec, config.pixel_weight
        )
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        seconds += time.perf_counter() - start
        history.append(
            {
                "step": step,
                "total": total.item(),
                "content": loss_c.item(),
                "style": loss_s.item(),
                "pixel": loss_p.item(),
                "lr": lr,
                "seconds": round(seconds, 3),
            }
        )
        bar.update(1)
        bar.set_postfix(
            content=f"{loss_c.item():.3g}", style=f"{loss_s.item():.3g}", pixel=f"{loss_p.item():.3g}"
        )
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save_checkpoint(ckpt_path, decoder, opt, gen, step, history, config, seconds)
    bar.close()
    decoder.requires_grad_(False).eval()
    return TrainResult(decoder, history, ckpt_path)


def _every(history: list[dict[str, float]], every: int) -> list[dict[str, float]]:
    return [h for h in history if h["step"] % every == 0 or h["step"] in (1, history[-1]["step"])]


def export_decoder(checkpoint: str | Path, dest: str | Path, command: str, **record: Any) -> Path:
    """Write a checkpoint's weights as an fp16 state dict ``dest`` (.pt) and its json record (sha256,
    the command that produced it, steps, wall time, final losses and any ``record`` fields)."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() for k, v in ckpt["model"].items()}, dest)
    last = ckpt["history"][-50:]
    info = {
        "file": dest.name,
        "sha256": sha256(dest),
        "layer": ckpt["config"]["layer"],
        "variant": ckpt["config"]["variant"],
        "command": command,
        "steps": ckpt["step"],
        "wall_seconds": round(ckpt["seconds"], 1),
        "final_losses_mean_last_50": {
            k: sum(h[k] for h in last) / len(last) for k in ("total", "content", "style", "pixel")
        },
        "config": ckpt["config"],
        # the loss curve, every ``every``-th step (steps 1 and the last included)
        "loss_curve": [
            [h[k] for k in ("step", "total", "content", "style", "pixel")]
            for h in _every(ckpt["history"], 10)
        ],
        **record,
    }
    dest.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return dest
