"""VGG feature extractors with named layers (Simonyan & Zisserman 2015, "Very Deep Convolutional
Networks"), as used by Gatys et al. 2016.

Layers are addressed by name: ``conv{b}_{i}`` (3x3 convolution, stride 1, padding 1),
``relu{b}_{i}`` and ``pool{b}`` (2x2 max pooling, stride 2), block b = 1..5 (the table is in
:mod:`nstlab.layers`). ``features`` takes images in [0, 1] and runs the network only up to the deepest
requested layer.

Backbones (``load_backbone(name)``):

- ``vgg16-hed`` (default): VGG16 convolutions of HED (see :mod:`nstlab.weights`); Caffe
  preprocessing: BGR, 0-255, minus the mean (103.939, 116.779, 123.68). Its pooling rounds odd sizes
  up, as Keras' ``padding="same"`` does.
- ``vgg19``: torchvision's ImageNet VGG19 (``VGG19_Weights.IMAGENET1K_V1``); ImageNet normalization.
- ``random-vgg16`` / ``random-vgg19``: seeded Kaiming-normal weights, zero biases; ImageNet
  normalization. For "what do random features capture".
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from . import validation
from . import weights as W
from .budget import device as default_device
from .layers import vgg_layers, vgg_scaled
from .receptive import receptive_field
from .validation import NonNegativeInt, PositiveFloat, TensorSpec, checked

__all__ = [
    "check_unit_range",
    "Backbone",
    "load_backbone",
]

BACKBONES = ("vgg16-hed", "vgg19", "random-vgg16", "random-vgg19")
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@checked
def check_unit_range(img01: Tensor) -> None:
    """Raise a ValueError when an image has values outside [0, 1] (e.g. 0-255 pixel values)."""
    validation.check_unit_range(img01, "img01")


class Backbone(nn.Module):
    """A frozen VGG with named layers. Inputs of ``features`` are images in [0, 1], (B, 3, H, W)."""

    @checked
    def __init__(
        self,
        name: str,
        arch: str,
        caffe: bool,
        ceil_mode: bool = False,
        width: PositiveFloat = 1.0,
        last: str | None = None,
    ):
        """``width`` scales every layer's channels (a narrow student of the same shape,
        :mod:`nstlab.distill`); ``last`` ends the network at that layer."""
        super().__init__()
        self.name, self.arch, self.caffe = name, arch, caffe
        spec = vgg_scaled(vgg_layers(arch), width)
        if last is not None:
            names = [n for n, *_ in spec]
            if last not in names:
                raise ValueError(f"last: unknown layer {last!r} of {arch}; valid names: {', '.join(names)}")
            spec = spec[: names.index(last) + 1]
        self.layer_names: list[str] = [n for n, *_ in spec]
        self.channels: dict[str, int] = {n: c for n, _, _, c in spec}
        modules: dict[str, nn.Module] = {}
        for layer_name, kind, c_in, c_out in spec:
            if kind == "conv":
                modules[layer_name] = nn.Conv2d(c_in, c_out, 3, padding=1)
            elif kind == "relu":
                modules[layer_name] = nn.ReLU(inplace=False)
            else:
                modules[layer_name] = nn.MaxPool2d(2, 2, ceil_mode=ceil_mode)
        self.layers = nn.ModuleDict(modules)
        if caffe:
            self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1) / 255)
            self.register_buffer("std", torch.full((1, 3, 1, 1), 1 / 255))
        else:
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @checked
    def preprocess(self, img01: Tensor) -> Tensor:
        """Image in [0, 1] RGB -> the network's input: Caffe BGR 0-255 minus mean, or ImageNet z-scores."""
        x = img01.flip(1) if self.caffe else img01
        return (x - self.mean) / self.std

    @checked
    def check_layers(self, layers: str | Iterable[str], name: str = "layers") -> list[str]:
        """Return the layers as a list; raise a ValueError naming ``name`` and listing the valid names on an
        unknown one."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [n for n in layers if n not in self.channels]
        if unknown:
            raise ValueError(
                f"{name}: unknown layer(s) {unknown} for {self.name}; valid names: "
                f"{', '.join(self.layer_names)}"
            )
        if not layers:
            raise ValueError(f"{name} is empty: no layers requested")
        return layers

    @checked
    def features(
        self, img01: Tensor, layers: Iterable[str], *, check_range: bool = True
    ) -> dict[str, Tensor]:
        """Activations of the named layers for an image in [0, 1] (B, 3, H, W).

        Runs only up to the deepest requested layer. Differentiable with respect to the image. Values
        outside [0, 1] (a 0-255 image) raise a ValueError; ``check_range=False`` skips that check for
        inputs that may stray a little by design (a decoder's unclamped output during its training). An
        image of another dtype (float64, float16) is cast to the network's; the features are in its dtype.
        """
        layers = self.check_layers(layers)
        validation.check_tensor(img01, "img01", TensorSpec(image=True, unit=check_range))
        wanted, deepest = set(layers), max(self.layer_names.index(n) for n in layers)
        x, out = self.preprocess(img01.to(self.mean.dtype)), {}
        for name in self.layer_names[: deepest + 1]:
            if min(x.shape[-2:]) < 2 and isinstance(self.layers[name], nn.MaxPool2d):
                raise ValueError(
                    f"the image is too small for layer {name}: the feature map is {tuple(x.shape[-2:])} "
                    "before pooling; use a larger image or a shallower layer"
                )
            x = self.layers[name](x)
            if name in wanted:
                out[name] = x
        return out

    @checked
    def receptive_field(self, layer: str) -> int:
        """Receptive field size in input pixels of one unit of ``layer`` (see :mod:`nstlab.receptive`)."""
        return receptive_field(self, layer)

    @checked
    def extra_repr(self) -> str:
        return f"name={self.name!r}, layers={len(self.layer_names)}"


def _load_torchvision_vgg19() -> dict[str, Tensor]:
    """torchvision's ImageNet VGG19 state dict (downloaded to ``$TORCH_HOME`` on first use)."""
    from torchvision.models import VGG19_Weights  # lazy: torchvision's import is slow and only vgg19 needs it

    url = VGG19_Weights.IMAGENET1K_V1.url
    try:
        return torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True, weights_only=True)
    except Exception as e:
        cache = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))
        raise W.WeightsError(
            f"vgg19 weights are not in the cache ({cache}) and could not be downloaded ({e}). vgg19 needs "
            "the internet once; use the offline default backbone 'vgg16-hed' instead"
        ) from e


def _rename_torchvision(state: dict[str, Tensor], arch: str) -> dict[str, Tensor]:
    """torchvision ``features.{index}.*`` keys -> ``conv{b}_{i}.*`` (classifier weights dropped)."""
    spec = vgg_layers(arch)
    out = {}
    for index, (name, kind, *_) in enumerate(spec):
        if kind == "conv":
            out[f"{name}.weight"] = state[f"features.{index}.weight"]
            out[f"{name}.bias"] = state[f"features.{index}.bias"]
    return out


def _random_state(arch: str, seed: int) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, kind, c_in, c_out in vgg_layers(arch):
        if kind == "conv":
            std = (2.0 / (c_in * 9)) ** 0.5  # Kaiming normal, fan-in, ReLU gain (He et al. 2015)
            out[f"{name}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=g) * std
            out[f"{name}.bias"] = torch.zeros(c_out)
    return out


@functools.lru_cache(maxsize=8)
def _cached(name: str, device: str, seed: int) -> Backbone:
    return _build(name, seed).to(device)


def _build(name: str, seed: int = 0) -> Backbone:
    if name == "vgg16-hed":
        model, state = Backbone(name, "vgg16", caffe=True, ceil_mode=True), W.load_hed_state()
    elif name == "vgg19":
        model = Backbone(name, "vgg19", caffe=False)
        state = _rename_torchvision(_load_torchvision_vgg19(), "vgg19")
    elif name in ("random-vgg16", "random-vgg19"):
        arch = name.split("-")[1]
        model, state = Backbone(name, arch, caffe=False), _random_state(arch, seed)
    else:
        raise ValueError(f"unknown backbone {name!r}; known backbones: {', '.join(BACKBONES)}")
    model.layers.load_state_dict(state, strict=True)
    return model


@checked
def load_backbone(
    name: str = "vgg16-hed", device: str | torch.device | None = None, seed: NonNegativeInt = 0
) -> Backbone:
    """A frozen, cached backbone by name (see the module docstring); ``seed`` is for the random ones."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known backbones: {', '.join(BACKBONES)}")
    if device is None:
        device = default_device()
    return _cached(name, str(validation.check_device(device)), seed)
