"""Training the feed-forward decoders of :mod:`nstlab.decoders` (Huang & Belongie 2017, "Arbitrary Style
Transfer in Real-time with Adaptive Instance Normalization", ICCV, sec. 6): image pools, the style bank, the
loss, the training loop with exact resume, and the export of shipped weights.

With t = AdaIN(f(c), f(s)) (:func:`nstlab.transforms.adain_to_moments`, the style given by its statistics),

    L = ||f(g(t)) - t||^2  +  lambda sum_{i} ||mu(phi_i(g(t))) - mu(phi_i(s))||^2
                                            + ||sigma(phi_i(g(t))) - sigma(phi_i(s))||^2,

squared norms as means over entries, phi_i = relu1_1, relu2_1, relu3_1 (and relu4_1 for the deeper
decoder). Half of each batch is instead decoded from the content's own features (t = f(c)) with the
pixel loss mu ||g(f(c)) - c||^2 of the reconstruction decoders of Li et al. 2017 added: the encoder here
is HED's VGG16, fine-tuned for edges, whose relu3_1 features say little about flat colour, and with the
feature losses alone a short run learned edges but not colours (reconstruction PSNR ~10 dB). The shipped
runs use lambda = 2, not the paper's 10: with 10 the outputs matched the style statistics but their
features stayed, position by position, farther from t than the content's
(:func:`nstlab.decoders.target_distances`).

The reconstruction decoders of the cascade (Li et al. 2017, "Universal Style Transfer via Feature
Transforms", sec. 3.1) are the same loop with every sample a reconstruction sample and only the pixel
loss: ``reconstruct_fraction=1, style_weight=0, feature_weight=0`` (``--reconstruct-fraction 1
--style-weight 0 --feature-weight 0``), on the ``"all"`` pool (``relu1_1``, ``relu2_1``) or the
``"leaves"`` pool (``relu3_1``: ten colour pictures, eight dead leaves pictures; :func:`training_contents`)
with ``content_dir`` the Debian wallpapers of ``benchmarks/wallpapers.py``.
The ``relu1_1`` decoder is one convolution, linear in its weights, so ``solver="lstsq"`` solves its pixel
loss exactly by least squares (:func:`fit_linear_decoder`) instead of running Adam. ``hue_jitter`` shows
a share of the crops in random hues (:func:`random_hues`): the pools hold ten colour pictures, too few
colours for a decoder that must read colour from edge-tuned features. ``init`` starts a run from given
weights (the shipped ``relu3_1`` reconstruction decoder continues the earlier one, recorded in its json).
:func:`export_decoder` (``nstlab export-decoder``) writes a finished run as shipped weights.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as nnf
from matplotlib.figure import Figure
from torch import Tensor
from tqdm.auto import tqdm

from . import color, images
from ._features import check_choice
from .backbones import Backbone, load_backbone
from .decoders import EPS, LAYERS, MIN_SIZE, SHIPPED_LAYER, VARIANTS, Decoder, load_decoder
from .stats import mean_std
from .transforms import adain_to_moments
from .validation import (
    AnyTensor,
    Fraction,
    ImageSide,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_fields,
    checked,
    output_type,
)
from .weights import sha256

__all__ = [
    "content_pool",
    "extra_pictures",
    "colour_pictures",
    "training_contents",
    "style_pool",
    "random_crop",
    "random_crops",
    "random_hues",
    "StyleBank",
    "style_bank",
    "Losses",
    "decoder_loss",
    "TrainConfig",
    "TrainResult",
    "load_checkpoint",
    "update_average",
    "write_loss_curve",
    "fit_linear_decoder",
    "train_decoder",
    "export_decoder",
]

STYLE_LAYERS = {
    "relu1_1": ("relu1_1",),
    "relu2_1": ("relu1_1", "relu2_1"),
    "relu3_1": ("relu1_1", "relu2_1", "relu3_1"),
    "relu4_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
}
HELD_OUT = ("coffee",)  # never trained on: the reconstruction test measures PSNR on it
CONTENT_EXCLUDED = ("immunohistochemistry", "retina")  # not natural photographs
# skimage's other bundled pictures (no download), used by the "all" content pool of the reconstruction
# decoders: a motorcycle photo, the moon, text, a printed page, a cell, a clock (grey ones become grey RGB)
EXTRA_PICTURES = ("stereo_motorcycle", "moon", "text", "page", "cell", "clock")
# Colour pictures that come with installed packages (no download), in the "colour" and "leaves" pools:
# (package, name). scikit-learn's two sample photos need the optional extra ``nstlab[train]``; "sample":
# a sample of nstlab.images (skimage's retina and stained tissue, kept out of the photo pool as not natural
# photographs, are colour pictures to reconstruct all the same).
COLOUR_PICTURES = (
    ("matplotlib", "grace_hopper.jpg"),
    ("sklearn", "china.jpg"),
    ("sklearn", "flower.jpg"),
    ("sample", "retina"),
    ("sample", "immunohistochemistry"),
)
DEAD_LEAVES_SEEDS = tuple(range(8))  # the "leaves" pool's dead leaves pictures (images.dead_leaves)
CONTENT_POOLS = ("photos", "all", "colour", "leaves")
SOLVERS = ("adam", "lstsq")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
# The style bank draws its crops from a generator of its own, seeded apart from the training generator
# (seed + a prime, so the bank's crops are not the first content crops of the same seed).
STYLE_BANK_SEED_OFFSET = 7919
LOSS_KEYS = ("total", "content", "style", "pixel")

# ----------------------------------------------------------------------------------------------------
# Image pools and random crops
# ----------------------------------------------------------------------------------------------------


def _image_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def _fit(source: Any, max_side: int, seed: int = 0) -> Tensor:
    """An image loaded at full resolution, then downscaled to a long side of at most ``max_side``."""
    img = images.load(source, seed=seed)  # no size limit: the pools keep their own resolution
    return images.resize(img, max_side) if max(img.shape[-2:]) > max_side else img


@checked
def content_pool(content_dir: str | Path | None = None, max_side: ImageSide = 512) -> list[Tensor]:
    """Training content: the bundled photos except :data:`HELD_OUT` and :data:`CONTENT_EXCLUDED`, plus
    the images of ``content_dir``; long side at most ``max_side``."""
    names = [n for n in images.PHOTOS if n not in HELD_OUT + CONTENT_EXCLUDED]
    sources: list[Any] = names + (_image_files(content_dir) if content_dir else [])
    return [_fit(s, max_side) for s in sources]


@checked
def extra_pictures(max_side: ImageSide = 512) -> list[Tensor]:
    """skimage's bundled pictures of :data:`EXTRA_PICTURES` (the left view of the stereo motorcycle)."""
    import skimage.data

    out = []
    for name in EXTRA_PICTURES:
        pic = getattr(skimage.data, name)()
        out.append(_fit(pic[0] if isinstance(pic, tuple) else pic, max_side))
    return out


def _colour_picture(package: str, name: str) -> Any:
    if package == "matplotlib":
        from matplotlib import cbook

        return cbook.get_sample_data(name, asfileobj=False)
    if package == "sklearn":
        try:
            from sklearn.datasets import load_sample_image
        except ImportError as err:
            raise ImportError(
                "the 'colour' and 'leaves' content pools use scikit-learn's sample photos: "
                "pip install -e '.[train]'"
            ) from err
        return load_sample_image(name)
    return name  # images.load reads a sample by its name


@checked
def colour_pictures(max_side: ImageSide = 512) -> list[Tensor]:
    """The colour pictures of :data:`COLOUR_PICTURES`, long side at most ``max_side``."""
    return [_fit(_colour_picture(package, name), max_side) for package, name in COLOUR_PICTURES]


@checked
def training_contents(config: TrainConfig) -> list[Tensor]:
    """The content pool of a run: ``"photos"``, the bundled photos (:func:`content_pool`); ``"all"``, also
    :func:`extra_pictures` and the style pool, for reconstruction decoders (t = f(c) only), which must
    invert whatever a style transfer hands them and never see a style target; ``"colour"``, the photos,
    the extra pictures, :func:`colour_pictures` and the style pool with one seed: in ``"all"`` the twelve
    procedural styles (four styles, three seeds) are 12 of 27 pictures and the colour photos 5, in
    ``"colour"`` the procedural styles 4 of 24 and the colour pictures 10; ``"leaves"``, the ``"colour"``
    pool and eight dead leaves pictures (:func:`nstlab.images.dead_leaves`: flat colour regions of every
    size with sharp edges, in every colour)."""
    pool = content_pool(config.content_dir)
    if config.content_pool == "all":
        pool += extra_pictures() + style_pool(config.style_dir)
    elif config.content_pool in ("colour", "leaves"):
        pool += extra_pictures() + colour_pictures() + style_pool(config.style_dir, seeds=(0,))
    if config.content_pool == "leaves":
        pool += [images.to_tensor(images.dead_leaves(seed=s)) for s in DEAD_LEAVES_SEEDS]
    return pool


@checked
def style_pool(
    style_dir: str | Path | None = None, seeds: Sequence[int] = (0, 1, 2), max_side: ImageSide = 512
) -> list[Tensor]:
    """Training styles: the bundled textures, the procedural styles with several ``seeds``, and the
    images of ``style_dir``; long side at most ``max_side``."""
    pool = [_fit(n, max_side) for n in images.TEXTURES]
    pool += [_fit(n, max_side, seed=s) for n in images.STYLES for s in seeds]
    return pool + [_fit(p, max_side) for p in (_image_files(style_dir) if style_dir else [])]


def _randint(high: int, generator: torch.Generator) -> int:
    return int(torch.randint(high, (1,), generator=generator))


@checked
def random_crop(img: Tensor, crop: ImageSide, generator: torch.Generator) -> Tensor:
    """One random crop (1, 3, crop, crop) of an image: rescaled so its short side is uniform in
    [crop, short side], a random crop position and a horizontal flip with probability 1/2."""
    h, w = img.shape[-2:]
    short = min(h, w)
    target = crop + _randint(max(1, short - crop + 1), generator)
    if target != short:
        scale = target / short
        size = (max(crop, round(h * scale)), max(crop, round(w * scale)))
        img = nnf.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(
            0, 1
        )
    h, w = img.shape[-2:]
    y, x = _randint(h - crop + 1, generator), _randint(w - crop + 1, generator)
    patch = img[..., y : y + crop, x : x + crop]
    return patch.flip(-1) if bool(torch.rand(1, generator=generator) < 0.5) else patch


@checked
def random_crops(pool: Sequence[Tensor], n: int, crop: ImageSide, generator: torch.Generator) -> Tensor:
    """n random crops (n, 3, crop, crop), each of a random image of ``pool`` (:func:`random_crop`)."""
    return torch.cat([random_crop(pool[_randint(len(pool), generator)], crop, generator) for _ in range(n)])


@checked
def random_hues(batch: Tensor, probability: float, generator: torch.Generator) -> Tensor:
    """Each crop of ``batch``, with ``probability``, rotated about the grey axis to a uniform random hue
    (:func:`nstlab.color.rotate_hue`): the pools hold few colour photos, and a decoder that saw only their
    colours paints a red saucer brown. ``probability`` 0 draws nothing (runs without it are unchanged)."""
    if probability == 0:
        return batch
    rotate = torch.rand(len(batch), generator=generator) < probability
    angles = torch.rand(len(batch), generator=generator, dtype=torch.float64) * 2 * math.pi
    return torch.cat(
        [
            color.rotate_hue(x[None], float(a)) if r else x[None]
            for x, r, a in zip(batch, rotate, angles, strict=True)
        ]
    )


# ----------------------------------------------------------------------------------------------------
# The style bank and the loss
# ----------------------------------------------------------------------------------------------------


@dataclass
class StyleBank:
    """Per-layer channel means and stds (n, C) of n style crops, computed once before training (the
    style images are fixed, so their statistics need not be recomputed every step)."""

    mean: dict[str, Tensor]
    std: dict[str, Tensor]

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def scale(self) -> dict[str, float]:
        """Mean activation of each layer over the bank: the losses divide features by it, which puts every
        layer on the scale of the mean-1 normalized VGG of Gatys et al. that Huang & Belongie use."""
        return {k: float(v.mean()) for k, v in self.mean.items()}

    @checked
    def pick(self, index: AnyTensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The means and stds of the bank entries ``index`` ({layer: (len(index), C)} each)."""
        return ({k: v[index] for k, v in self.mean.items()}, {k: v[index] for k, v in self.std.items()})


@checked
def style_bank(
    backbone: Backbone,
    pool: Sequence[Tensor],
    layers: Sequence[str],
    n: int,
    crop: ImageSide,
    seed: NonNegativeInt,
    batch: int = 16,
) -> StyleBank:
    """Statistics (:func:`nstlab.stats.mean_std`) of n seeded random crops of the style pool at ``layers``."""
    g = torch.Generator().manual_seed(seed + STYLE_BANK_SEED_OFFSET)
    means: dict[str, list[Tensor]] = {k: [] for k in layers}
    stds: dict[str, list[Tensor]] = {k: [] for k in layers}
    with torch.no_grad():
        for start in range(0, n, batch):
            feats = backbone.features(random_crops(pool, min(batch, n - start), crop, g), layers)
            for k in layers:
                mu, sd = mean_std(feats[k], eps=EPS)
                means[k].append(mu)
                stds[k].append(sd)
    return StyleBank({k: torch.cat(v) for k, v in means.items()}, {k: torch.cat(v) for k, v in stds.items()})


class Losses(NamedTuple):
    """The weighted total and the three terms of :func:`decoder_loss` (0-d tensors)."""

    total: Tensor
    content: Tensor
    style: Tensor
    pixel: Tensor


def _style_loss(
    feats: dict[str, Tensor],
    mu_s: dict[str, Tensor],
    sd_s: dict[str, Tensor],
    n: int,
    scale: dict[str, float],
) -> Tensor:
    """sum_i [mean (mu_i(g(t)) - mu_i(s))^2 + mean (sigma_i(g(t)) - sigma_i(s))^2] / scale_i^2 over the
    first n samples (Huang & Belongie 2017, eq. 13, with squared norms)."""
    total = next(iter(feats.values())).new_zeros(())
    for name, F in feats.items():
        mu, sd = mean_std(F[:n], eps=EPS)
        total = (
            total + (nnf.mse_loss(mu, mu_s[name][:n]) + nnf.mse_loss(sd, sd_s[name][:n])) / scale[name] ** 2
        )
    return total


@checked
def decoder_loss(
    backbone: Backbone,
    decoder: Decoder,
    content: Tensor,
    mu_s: dict[str, Tensor],
    sd_s: dict[str, Tensor],
    style_weight: NonNegativeFloat,
    scale: dict[str, float],
    n_reconstruct: PositiveInt = 0,
    pixel_weight: NonNegativeFloat = 0.0,
    feature_weight: NonNegativeFloat = 1.0,
) -> Losses:
    """Losses of one batch. The first B - n_reconstruct samples are style samples, t = AdaIN(f(c), s);
    the last n_reconstruct are reconstruction samples, t = f(c).

    L_c = mean (f(g(t)) - t)^2 over all samples; L_s = sum_i mean (mu_i(g(t)) - mu_i(s))^2 +
    mean (sigma_i(g(t)) - sigma_i(s))^2 over the style samples (Huang & Belongie 2017, eqs. 11-13, with
    squared norms);
    L_p = mean (g(f(c)) - c)^2 over the reconstruction samples (the pixel loss of Li et al. 2017's
    decoders). Features are divided by each layer's mean activation ``scale`` (:attr:`StyleBank.scale`).
    total = feature_weight L_c + style_weight L_s + pixel_weight L_p. With no style samples and
    ``feature_weight=0`` (a pixel-only reconstruction decoder) the output is not encoded again: L_c = 0.
    """
    layer, n_style = decoder.layer, content.shape[0] - n_reconstruct
    with torch.no_grad():
        fc = backbone.features(content, [layer])[layer]
        if n_style > 0:
            styled = adain_to_moments(fc[:n_style], mu_s[layer][:n_style], sd_s[layer][:n_style], eps=EPS)
            t = torch.cat([styled, fc[n_style:]])
        else:  # reconstruction only: t = f(c)
            t = fc
    out = decoder(t)
    loss_c = loss_s = out.new_zeros(())
    if n_style > 0 or feature_weight != 0:
        # the decoder's raw output is trained toward [0, 1] but not clamped (the gradient must pass)
        feats = backbone.features(out, STYLE_LAYERS[layer], check_range=False)
        loss_c = nnf.mse_loss(feats[layer], t) / scale[layer] ** 2
        loss_s = _style_loss(feats, mu_s, sd_s, n_style, scale) if n_style > 0 else loss_s
    loss_p = nnf.mse_loss(out[n_style:], content[n_style:]) if n_reconstruct else out.new_zeros(())
    total = feature_weight * loss_c + style_weight * loss_s + pixel_weight * loss_p
    return Losses(total, loss_c, loss_s, loss_p)


# ----------------------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Settings of a decoder training run (saved in every checkpoint)."""

    variant: str = "resize"
    layer: str = SHIPPED_LAYER
    steps: PositiveInt = 2000
    batch_size: PositiveInt = 4
    crop: ImageSide = 96
    lr: PositiveFloat = 1e-3
    lr_decay_steps: float = 500.0  # lr_t = lr min(1, (t + 1) / warmup_steps) / (1 + t / lr_decay_steps)
    warmup_steps: int = 20
    style_weight: NonNegativeFloat = 2.0  # the paper's 10 left f(g(t)) farther from t than f(c) here
    reconstruct_fraction: Fraction = 0.5  # share of each batch decoded from the content's own features
    pixel_weight: NonNegativeFloat = 300.0
    feature_weight: NonNegativeFloat = (
        1.0  # weight of L_c; 0 with reconstruct_fraction 1: a pixel-only decoder
    )
    seed: NonNegativeInt = 0
    style_bank: int = 512
    checkpoint_every: int = 100
    content_dir: str | None = None
    style_dir: str | None = None
    content_pool: str = "photos"  # "all", "colour", "leaves": more pictures, the styles (training_contents)
    init: str | None = None  # weights (state dict, checkpoint or shipped .pt) to start a new run from
    solver: str = "adam"  # "lstsq": the exact least-squares pixel fit of a linear decoder (relu1_1)
    hue_jitter: Fraction = 0.0  # probability that a crop is rotated to a random hue (random_hues)
    # average the weights at every checkpoint_every-th step from this step on (SWA, update_average)
    average_from: int | None = None

    def __post_init__(self) -> None:
        check_fields(self)

    @checked
    def check(self) -> None:
        """Raise a ValueError on an unknown variant or layer, or a crop too small for the layer (the
        fields' types and ranges are checked as the config is made)."""
        check_choice(self.variant, VARIANTS, "variant")
        check_choice(self.layer, LAYERS, "layer")
        check_choice(self.content_pool, CONTENT_POOLS, "content pool")
        check_choice(self.solver, SOLVERS, "solver")
        if self.solver == "lstsq" and self.layer != "relu1_1":
            raise ValueError(
                f"solver 'lstsq' fits a linear decoder; only the relu1_1 decoder is linear (one conv), "
                f"the {self.layer} decoder has ReLUs: use solver 'adam'"
            )
        last_checkpoint = self.steps - self.steps % self.checkpoint_every  # the last step averaged
        if self.average_from is not None and not 0 < self.average_from <= last_checkpoint:
            raise ValueError(
                f"average_from {self.average_from}: the weights are averaged every {self.checkpoint_every} "
                f"steps, and no such step lies between it and the run's last, {self.steps}; use a step in "
                f"1-{last_checkpoint}"
            )
        if self.crop < MIN_SIZE[self.layer]:
            raise ValueError(
                f"crop {self.crop} px is below the {MIN_SIZE[self.layer]} px the {self.layer} decoder needs"
            )

    @checked
    def learning_rate(self, step: int) -> float:
        """lr_t = lr min(1, (t + 1) / warmup_steps) / (1 + t / lr_decay_steps): linear warm-up, then
        inverse decay (as in Huang & Belongie's code)."""
        return self.lr * min(1.0, (step + 1) / self.warmup_steps) / (1 + step / self.lr_decay_steps)


@output_type
@dataclass
class TrainResult:
    """The trained decoder, the loss history (one dict per step) and the checkpoint path."""

    decoder: Decoder
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None


@dataclass
class _Run:
    """The state a checkpoint holds: model, optimizer, generator, step, history, wall time and the running
    average of the weights (``config.average_from``) with the steps it holds."""

    decoder: Decoder
    opt: torch.optim.Optimizer
    gen: torch.Generator
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    average: dict[str, Tensor] | None = None
    averaged_steps: list[int] = field(default_factory=list)


def _new_run(config: TrainConfig) -> _Run:
    torch.manual_seed(config.seed)
    decoder = Decoder(config.layer, config.variant).train()
    if config.init is not None:  # the weights of a .pt file or a checkpoint, checked as load_decoder does
        start = load_decoder(config.variant, config.layer, path=config.init, device="cpu")
        if (start.layer, start.variant) != (config.layer, config.variant):
            raise ValueError(
                f"init {config.init} holds a {start.variant} {start.layer} decoder; this run trains a "
                f"{config.variant} {config.layer} one"
            )
        decoder.load_state_dict(start.state_dict())
    opt = torch.optim.Adam(decoder.parameters(), lr=config.lr)
    return _Run(decoder, opt, torch.Generator().manual_seed(config.seed))


def _resume(run: _Run, path: Path, config: TrainConfig) -> None:
    """Load a checkpoint into ``run`` (same variant and layer only)."""
    if not path.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}; start without --resume")
    ckpt = load_checkpoint(path)
    if (ckpt["config"]["variant"], ckpt["config"]["layer"]) != (config.variant, config.layer):
        raise ValueError(
            f"{path} is a {ckpt['config']['variant']} {ckpt['config']['layer']} run; "
            f"asked to resume {config.variant} {config.layer}"
        )
    run.decoder.load_state_dict(ckpt["model"])
    run.opt.load_state_dict(ckpt["optimizer"])
    run.gen.set_state(ckpt["generator"])
    run.step, run.history, run.seconds = ckpt["step"], ckpt["history"], ckpt["seconds"]
    run.average, run.averaged_steps = ckpt.get("average"), ckpt.get("averaged_steps", [])


CHECKPOINT_KEYS = ("config", "model", "optimizer", "generator", "step", "history", "seconds")


@checked
def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by :func:`train_decoder`; ValueError when the file is missing a part or cannot be
    read (e.g. cut short by an interrupted copy), naming the file and what to do."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}; give OUT/checkpoint.pt of train-decoder")
    fix = "use an intact copy, or train again (train-decoder writes OUT/checkpoint.pt)"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 (torch raises RuntimeError, EOFError, UnpicklingError, ...)
        raise ValueError(f"cannot read the checkpoint {path} ({type(e).__name__}: {e}); {fix}") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ValueError(f"{path} is not a train-decoder checkpoint (missing {', '.join(missing)}); {fix}")
    return ckpt


@checked
def update_average(
    average: dict[str, Tensor] | None, weights: dict[str, Tensor], n: int
) -> dict[str, Tensor]:
    """The running mean of n weight sets from that of the first n - 1: w_bar_n = w_bar_{n-1} +
    (w_n - w_bar_{n-1}) / n (stochastic weight averaging, Izmailov et al. 2018, "Averaging Weights Leads to
    Wider Optima and Better Generalization", UAI, algorithm 1, with one weight set per checkpoint)."""
    if average is None:
        return {k: v.detach().clone() for k, v in weights.items()}
    return {k: average[k] + (weights[k].detach() - average[k]) / n for k in average}


def _save_checkpoint(path: Path, run: _Run, config: TrainConfig) -> None:
    tmp = path.with_suffix(".tmp")
    state = {
        "model": run.decoder.state_dict(),
        "optimizer": run.opt.state_dict(),
        "generator": run.gen.get_state(),
        "average": run.average,
        "averaged_steps": run.averaged_steps,
    }
    torch.save(
        {**state, "step": run.step, "history": run.history, "config": vars(config), "seconds": run.seconds},
        tmp,
    )
    tmp.replace(path)
    write_loss_curve(run.history, path.parent, plot=run.step == config.steps)


@checked
def write_loss_curve(
    history: list[dict[str, float]], folder: Path, plot: bool = True, keys: Sequence[str] = LOSS_KEYS
) -> None:
    """losses.csv (step, the loss ``keys``, lr, seconds) and, with ``plot``, losses.png of the ``keys``."""
    if not history:
        return
    with open(folder / "losses.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    if not plot:
        return
    fig = Figure(figsize=(6, 3.5), layout="tight")
    ax = fig.subplots()
    steps = [h["step"] for h in history]
    for key in keys:
        ax.semilogy(steps, [h[key] for h in history], label=key, lw=0.8)
    ax.set(xlabel="step", ylabel="loss", title="training")
    ax.legend()
    fig.savefig(folder / "losses.png", dpi=100)


def _train_step(
    run: _Run, config: TrainConfig, backbone: Backbone, contents: Sequence[Tensor], bank: StyleBank
) -> Losses:
    """One Adam step on a fresh batch; appends its record to ``run.history``."""
    start = time.perf_counter()
    lr = config.learning_rate(run.step)
    for group in run.opt.param_groups:
        group["lr"] = lr
    batch = random_hues(
        random_crops(contents, config.batch_size, config.crop, run.gen), config.hue_jitter, run.gen
    )
    mu_s, sd_s = bank.pick(torch.randint(config.style_bank, (config.batch_size,), generator=run.gen))
    n_rec = round(config.reconstruct_fraction * config.batch_size)
    losses = decoder_loss(
        backbone,
        run.decoder,
        batch,
        mu_s,
        sd_s,
        config.style_weight,
        bank.scale,
        n_rec,
        config.pixel_weight,
        config.feature_weight,
    )
    run.opt.zero_grad(set_to_none=True)
    losses.total.backward()
    run.opt.step()
    run.step += 1
    run.seconds += time.perf_counter() - start
    values = {k: v.item() for k, v in zip(LOSS_KEYS, losses, strict=True)}
    run.history.append({"step": run.step, **values, "lr": lr, "seconds": round(run.seconds, 3)})
    return losses


@checked
def fit_linear_decoder(
    run: _Run, config: TrainConfig, backbone: Backbone, contents: Sequence[Tensor], progress: bool = True
) -> None:
    """The relu1_1 decoder, one 3x3 convolution g(f) = W * f + b, is linear: the pixel loss
    sum ||W * f(c) + b - c||^2 is an ordinary least-squares problem, solved exactly from the normal
    equations (X^T X + r I) w = X^T y accumulated over ``config.steps`` batches of random crops, X the
    3x3 neighbourhoods of the scaled relu1_1 features (64 x 9 values and a 1 for the bias) and y the RGB
    pixels; r = 1e-6 mean(diag X^T X) only guards the solve. One record in ``run.history``: the mean pixel
    loss of the fit on the accumulated crops (content and style are not computed: 0)."""
    conv = run.decoder.net[0][1]
    n_in = conv.in_channels * 9
    xtx = torch.zeros(n_in + 1, n_in + 1, dtype=torch.float64)
    xty = torch.zeros(n_in + 1, 3, dtype=torch.float64)
    yty, count, start = torch.zeros(3, dtype=torch.float64), 0, time.perf_counter()
    for _ in tqdm(range(config.steps), desc="relu1_1 decoder, least squares", disable=not progress):
        batch = random_crops(contents, config.batch_size, config.crop, run.gen)
        with torch.no_grad():
            f = backbone.features(batch, [config.layer])[config.layer] * run.decoder.input_scale
        cols = nnf.unfold(nnf.pad(f, (1, 1, 1, 1), mode="reflect"), 3).transpose(1, 2).reshape(-1, n_in)
        X = torch.cat([cols.double(), cols.new_ones(len(cols), 1, dtype=torch.float64)], 1)
        y = batch.permute(0, 2, 3, 1).reshape(-1, 3).double()
        xtx, xty, yty, count = xtx + X.T @ X, xty + X.T @ y, yty + (y * y).sum(0), count + len(y)
    ridge = 1e-6 * float(xtx.diagonal().mean()) * torch.eye(n_in + 1, dtype=torch.float64)
    w = torch.linalg.solve(xtx + ridge, xty)  # (64 * 9 + 1, 3)
    with torch.no_grad():
        conv.weight.copy_(w[:n_in].T.reshape(conv.weight.shape).float())
        conv.bias.copy_(w[n_in].float())
    mse = float((yty - 2 * (w * xty).sum(0) + (w * (xtx @ w)).sum(0)).sum() / (3 * count))
    run.step, run.seconds = config.steps, run.seconds + time.perf_counter() - start
    run.history.append(
        {"step": run.step, "total": config.pixel_weight * mse, "content": 0.0, "style": 0.0, "pixel": mse}
        | {"lr": 0.0, "seconds": round(run.seconds, 3)}
    )


@checked
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
    config.check()
    out = images.check_writable_folder(out)
    ckpt_path = out / "checkpoint.pt"
    run = _new_run(config)
    if resume:  # before the backbone and the image pools: a bad checkpoint is found at once
        _resume(run, ckpt_path, config)
    backbone = backbone or load_backbone("vgg16-hed", device="cpu")
    contents = list(contents) if contents is not None else training_contents(config)
    styles = list(styles) if styles is not None else style_pool(config.style_dir)
    bank = style_bank(
        backbone, styles, STYLE_LAYERS[config.layer], config.style_bank, config.crop, config.seed
    )
    if config.init is None:  # a run started from given weights keeps the input scale they were trained for
        run.decoder.input_scale.fill_(1 / bank.scale[config.layer])
    if config.solver == "lstsq":
        fit_linear_decoder(run, config, backbone, contents, progress)
        _save_checkpoint(ckpt_path, run, config)
        return TrainResult(run.decoder.requires_grad_(False).eval(), run.history, ckpt_path)
    desc = f"decoder {config.layer} {config.variant}"
    with tqdm(total=config.steps, initial=run.step, desc=desc, disable=not progress) as bar:
        while run.step < config.steps:
            losses = _train_step(run, config, backbone, contents, bank)
            bar.update(1)
            bar.set_postfix({k: f"{v.item():.3g}" for k, v in losses._asdict().items() if k != "total"})
            every = run.step % config.checkpoint_every == 0
            if every and config.average_from is not None and run.step >= config.average_from:
                run.averaged_steps.append(run.step)
                run.average = update_average(run.average, run.decoder.state_dict(), len(run.averaged_steps))
            if every or run.step == config.steps:
                _save_checkpoint(ckpt_path, run, config)
    run.decoder.requires_grad_(False).eval()
    return TrainResult(run.decoder, run.history, ckpt_path)


# ----------------------------------------------------------------------------------------------------
# Export of shipped weights
# ----------------------------------------------------------------------------------------------------


def _every(history: list[dict[str, float]], every: int) -> list[dict[str, float]]:
    """Every ``every``-th record, with the first and the last step."""
    return [h for h in history if h["step"] % every == 0 or h["step"] in (1, history[-1]["step"])]


@checked
def export_decoder(checkpoint: str | Path, dest: str | Path, command: str, **record: Any) -> Path:
    """Write a checkpoint's weights as an fp16 state dict ``dest`` (.pt) and its json record (sha256,
    the command that produced it, steps, wall time, final losses, the loss curve every 10th step and any
    ``record`` fields): how the files in ``nstlab/data`` were made. A run with ``average_from`` exports
    the average of its checkpoints' weights, and the json lists their steps."""
    ckpt = load_checkpoint(checkpoint)
    dest = Path(dest).expanduser()
    if dest.suffix != ".pt":
        raise ValueError(f"dest {dest} must be a .pt file (its .json record is written beside it)")
    images.check_writable_folder(dest.parent)
    weights = ckpt.get("average") or ckpt["model"]
    torch.save({k: v.half() for k, v in weights.items()}, dest)
    last = ckpt["history"][-50:]
    info = {
        "file": dest.name,
        "sha256": sha256(dest),
        "layer": ckpt["config"]["layer"],
        "variant": ckpt["config"]["variant"],
        "command": command,
        "steps": ckpt["step"],
        "wall_seconds": round(ckpt["seconds"], 1),
        "final_losses_mean_last_50": {k: sum(h[k] for h in last) / len(last) for k in LOSS_KEYS},
        "config": ckpt["config"],
        "loss_curve": [[h[k] for k in ("step", *LOSS_KEYS)] for h in _every(ckpt["history"], 10)],
        **({"averaged_checkpoint_steps": ckpt["averaged_steps"]} if ckpt.get("average") else {}),
        **record,
    }
    dest.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return dest
