"""Checks of exercise set 12: fast feed-forward transfer, an AdaIN layer between an encoder and a decoder.

Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV:

- AdaIN(x, s) = sigma(s) (x - mu(x)) / sigma(x) + mu(s) per sample and channel, over H x W, with
  sigma = sqrt(population variance + eps) (eq. 8);
- out = g(t), t = alpha AdaIN(f(c), f(s)) + (1 - alpha) f(c) (the content-style trade-off, sec. 7);
- the decoder g is trained, the encoder f fixed, on L = L_c + lambda L_s with L_c = mean (f(g(t)) - t)^2
  and L_s = sum_i mean (mu(phi_i(g(t))) - mu(phi_i(s)))^2 + mean (sigma(phi_i(g(t))) - sigma(phi_i(s)))^2
  (eqs. 11-13, with squared norms), phi_i the encoder's layers, squared norms as means over entries, Adam.

The checks run the student's code on a tiny seeded encoder (two 3x3 convolutions with ReLU and a 2x2
average pooling, :func:`tiny_encoder`) and decoder (:func:`tiny_decoder`) in float64, so that a training
run of a few steps takes milliseconds and can be compared step by step with the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from .. import stats, transforms
from ._core import Args, adain_form, call_student, difference, say, verdict
from ._random import maps

EPS = 1e-5
F64 = torch.float64

# ----------------------------------------------------------------------------------------------------
# The tiny seeded networks the checks use
# ----------------------------------------------------------------------------------------------------


def _init(module: nn.Conv2d, gen: torch.Generator, bias: float) -> None:
    """Kaiming-normal weights (fan-in) drawn from ``gen``, a constant bias; float64."""
    c_out, c_in, k, _ = module.weight.shape
    with torch.no_grad():
        module.weight.copy_(
            torch.randn(c_out, c_in, k, k, generator=gen, dtype=F64) * (2 / (c_in * k * k)) ** 0.5
        )
        module.bias.fill_(bias)


class _TinyEncoder(nn.Module):
    """f: image (B, 3, H, W) -> [phi_1 (B, 4, H, W), phi_2 (B, 6, H/2, W/2)], shallow to deep: ReLU after a
    3x3 convolution, 2x2 average pooling, ReLU after a second 3x3 convolution. AdaIN acts on the last."""

    def __init__(self, seed: int):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, dtype=F64)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, dtype=F64)
        _init(self.conv1, gen, 0.1)
        _init(self.conv2, gen, 0.1)

    def forward(self, img: Tensor) -> list[Tensor]:
        phi1 = torch.relu(self.conv1(img))
        return [phi1, torch.relu(self.conv2(nnf.avg_pool2d(phi1, 2)))]


class _TinyDecoder(nn.Module):
    """g: features (B, 6, h, w) -> image (B, 3, 2h, 2w): 3x3 convolution, ReLU, nearest upsampling by 2,
    3x3 convolution. Untrained, its output strays outside [0, 1] (as a decoder's does in training)."""

    def __init__(self, seed: int):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(6, 4, 3, padding=1, dtype=F64)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1, dtype=F64)
        _init(self.conv1, gen, 0.05)
        _init(self.conv2, gen, 0.5)

    def forward(self, features: Tensor) -> Tensor:
        return self.conv2(nnf.interpolate(torch.relu(self.conv1(features)), scale_factor=2.0))


def tiny_encoder(seed: int = 1200) -> _TinyEncoder:
    """A fresh seeded :class:`_TinyEncoder` (its weights require gradients, as a new module's do)."""
    return _TinyEncoder(seed)


def tiny_decoder(seed: int = 1201) -> _TinyDecoder:
    """A fresh seeded :class:`_TinyDecoder`."""
    return _TinyDecoder(seed)


def _images(gen: torch.Generator, b: int, h: int, w: int) -> Tensor:
    return torch.rand(b, 3, h, w, generator=gen, dtype=F64)


# ----------------------------------------------------------------------------------------------------
# Task 1: the AdaIN layer
# ----------------------------------------------------------------------------------------------------


def _moments(
    x: Tensor, eps: float, dims: tuple[int, ...] = (2, 3), correction: int = 0, eps_on_std: bool = False
) -> tuple[Tensor, Tensor]:
    """(mu, sigma) over ``dims``, kept for broadcasting: the ways AdaIN gets its statistics wrong."""
    var = x.var(dims, keepdim=True, correction=correction)
    return x.mean(dims, keepdim=True), (var.sqrt() + eps if eps_on_std else (var + eps).sqrt())


def _adain(
    content: Tensor,
    style: Tensor,
    eps: float = EPS,
    dims: tuple[int, ...] = (2, 3),
    style_dims: tuple[int, ...] | None = None,
    form: str = "ok",
    **kw: Any,
) -> Tensor:
    """An AdaIN variant: content statistics over ``dims``, style statistics over ``style_dims`` (default
    ``dims``); ``form`` "ok", "swap" (mean and std exchanged), "mean" (mean only), "normalize" (IN only)."""
    moments = (*_moments(content, eps, dims, **kw), *_moments(style, eps, style_dims or dims, **kw))
    return adain_form(content, moments, form)


def _adain_cases() -> list[Args]:
    gen = torch.Generator().manual_seed(1210)
    return [
        (maps(gen, 2, 3, 6, 6, F64, tiny=True), maps(gen, 2, 3, 5, 6, F64), EPS),
        (maps(gen, 3, 4, 5, 6, F64), maps(gen, 3, 4, 7, 5, F64), EPS),
        (maps(gen, 4, 2, 5, 4, torch.float32), maps(gen, 1, 2, 6, 6, torch.float32), EPS),
    ]


def check_adain_layer(student_fn: Callable[..., Any]) -> bool:
    """``adain(content, style, eps)`` on feature maps (B, C, H, W), one style per sample (or one style for
    the whole batch): sigma_s (x - mu_c) / sigma_c + mu_s, statistics of each sample and channel."""
    mistakes = {
        "statistics over the batch (batch-norm style): each sample has its own style, so take mean and std "
        "of each sample and channel over H and W only (dims 2, 3)": [
            lambda c, s, eps: _adain(c, s, eps, dims=(0, 2, 3)),
            lambda c, s, eps: _adain(c, s, eps, dims=(0, 2, 3), correction=1),
        ],
        "style statistics pooled over the batch: sample b must get the mean and std of its own style s_b": (
            lambda c, s, eps: _adain(c, s, eps, style_dims=(0, 2, 3))
        ),
        "statistics over the channels too (layer-norm style): one mean and std per channel": (
            lambda c, s, eps: _adain(c, s, eps, dims=(1, 2, 3))
        ),
        "unbiased std (divides by N - 1, torch's default): use the population std, correction=0": (
            lambda c, s, eps: _adain(c, s, eps, correction=1)
        ),
        "missing eps: sigma = sqrt(var + eps) keeps the division finite on a nearly constant channel": (
            lambda c, s, eps: _adain(c, s, 0.0)
        ),
        "eps added to the std instead of the variance: sigma = sqrt(var + eps)": (
            lambda c, s, eps: _adain(c, s, eps, eps_on_std=True)
        ),
        "mean and std swapped: scale by sigma(s), then add mu(s)": lambda c, s, eps: _adain(
            c, s, eps, form="swap"
        ),
        "only the mean matched: also scale by sigma(s) / sigma(x)": lambda c, s, eps: _adain(
            c, s, eps, form="mean"
        ),
        "only normalized (that is instance norm): then scale by sigma(s) and add mu(s)": (
            lambda c, s, eps: _adain(c, s, eps, form="normalize")
        ),
    }
    reference = lambda c, s, eps: transforms.adain(c, s, eps=eps)  # noqa: E731
    return verdict("adain", student_fn, reference, _adain_cases(), mistakes, atol=1e-5, grad_of=(0, 1))


# ----------------------------------------------------------------------------------------------------
# Task 2: encoder -> AdaIN -> decoder, blended by alpha
# ----------------------------------------------------------------------------------------------------


def _forward(
    encoder: nn.Module,
    decoder: nn.Module,
    content: Tensor,
    style: Tensor,
    alpha: float,
    eps: float = EPS,
    where: str = "features",
    alpha_on: str = "adain",
) -> Tensor:
    """A forward variant: blend ``where`` ("features", "pixels", "decoded", "none", "images");
    ``alpha_on`` "adain" (right) or "content" (alpha and 1 - alpha exchanged)."""
    with torch.no_grad():
        if where == "images":  # AdaIN on the pixels, then the network
            mixed = alpha * transforms.adain(content, style, eps=eps) + (1 - alpha) * content
            return decoder(encoder(mixed)[-1])
        fc, fs = encoder(content)[-1], encoder(style)[-1]
        t = transforms.adain(fc, fs, eps=eps)
        a = alpha if alpha_on == "adain" else 1 - alpha
        if where == "pixels":
            return a * decoder(t) + (1 - a) * content
        if where == "decoded":
            return a * decoder(t) + (1 - a) * decoder(fc)
        if where == "none":
            return decoder(t)
        return decoder(a * t + (1 - a) * fc)


def _forward_cases() -> list[Args]:
    gen = torch.Generator().manual_seed(1220)
    enc, dec = tiny_encoder(1221), tiny_decoder(1222)
    return [
        (enc, dec, _images(gen, 2, 8, 8), _images(gen, 2, 10, 12), 0.3),
        (enc, dec, _images(gen, 1, 12, 10), _images(gen, 1, 8, 8), 0.75),
        (enc, dec, _images(gen, 2, 8, 12), _images(gen, 1, 8, 8), 1.0),
        (enc, dec, _images(gen, 1, 10, 10), _images(gen, 1, 12, 12), 0.0),
    ]


def check_fast_transfer(student_fn: Callable[..., Any]) -> bool:
    """``fast_transfer(encoder, decoder, content, style, alpha)``: g(alpha AdaIN(f(c), f(s)) + (1 - alpha)
    f(c)) with f(.) the encoder's last feature map and eps = 1e-5."""
    mistakes = {
        "alpha ignored: blend the features, t = alpha AdaIN(f(c), f(s)) + (1 - alpha) f(c), then decode": (
            lambda e, d, c, s, a: _forward(e, d, c, s, a, where="none")
        ),
        "blended in pixel space with the content image: blend the features before decoding": (
            lambda e, d, c, s, a: _forward(e, d, c, s, a, where="pixels")
        ),
        "blended the two decoded pictures: blend the features, then decode once": (
            lambda e, d, c, s, a: _forward(e, d, c, s, a, where="decoded")
        ),
        "alpha on the wrong side: alpha weights the AdaIN output, 1 - alpha the content features": [
            lambda e, d, c, s, a: _forward(e, d, c, s, a, alpha_on="content"),
            lambda e, d, c, s, a: _forward(e, d, c, s, a, where="pixels", alpha_on="content"),
        ],
        "AdaIN on the pixels: apply it to the encoder's features f(c), f(s)": (
            lambda e, d, c, s, a: _forward(e, d, c, s, a, where="images")
        ),
    }
    return verdict("fast_transfer", student_fn, _forward, _forward_cases(), mistakes, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------------------------------
# Task 3: the decoder's training loss
# ----------------------------------------------------------------------------------------------------


def _mean_std(x: Tensor, eps: float, correction: int = 0) -> tuple[Tensor, Tensor]:
    """(mu, sigma) per sample and channel, (B, C): sigma = sqrt(var + eps)."""
    if correction == 0:
        return stats.mean_std(x, eps=eps)
    flat = x.flatten(2)
    return flat.mean(-1), (flat.var(-1, correction=correction) + eps).sqrt()


def _loss(
    encoder: nn.Module,
    decoder: nn.Module,
    content: Tensor,
    style: Tensor,
    style_weight: float = 1.0,
    eps: float = EPS,
    **wrong: Any,
) -> Tensor:
    """Huang & Belongie's L = L_c + style_weight L_s, or a variant named by one of ``wrong``'s keys:
    pixels, content_target, last_only, correction, no_eps, clamp, summed, means_only, no_style, weight."""
    sq = (lambda a, b: (a - b).pow(2).sum()) if wrong.get("summed") else nnf.mse_loss
    with torch.no_grad():
        fc, fs = encoder(content), encoder(style)
        t = transforms.adain(fc[-1], fs[-1], eps=eps)
    out = decoder(t)
    fo = encoder(out.clamp(0, 1) if wrong.get("clamp") else out)
    target = fc[-1] if wrong.get("content_target") else t
    loss_c = sq(out, content) if wrong.get("pixels") else sq(fo[-1], target)
    pairs = list(zip(fo, fs, strict=True))
    pairs = pairs[-1:] if wrong.get("last_only") else pairs
    e = 0.0 if wrong.get("no_eps") else eps
    loss_s = out.new_zeros(())
    for phi_out, phi_s in pairs:
        (mu_o, sd_o), (mu_s, sd_s) = (_mean_std(x, e, wrong.get("correction", 0)) for x in (phi_out, phi_s))
        loss_s = loss_s + sq(mu_o, mu_s) + (0 if wrong.get("means_only") else sq(sd_o, sd_s))
    if wrong.get("no_style"):
        return loss_c
    return loss_c + (1.0 if wrong.get("weight") else style_weight) * loss_s


def decoder_loss_reference(
    encoder: nn.Module,
    decoder: nn.Module,
    content: Tensor,
    style: Tensor,
    style_weight: float = 1.0,
    eps: float = EPS,
) -> Tensor:
    """The reference of task 3 (0-d tensor, differentiable with respect to the decoder's weights)."""
    return _loss(encoder, decoder, content, style, style_weight, eps)


def _loss_cases() -> list[Args]:
    gen = torch.Generator().manual_seed(1230)
    enc, dec = tiny_encoder(1231), tiny_decoder(1232)
    return [
        (enc, dec, _images(gen, 2, 8, 8), _images(gen, 2, 12, 10), 2.0, EPS),
        (enc, dec, _images(gen, 3, 8, 12), _images(gen, 3, 8, 8), 0.5, 0.1),
        (enc, dec, _images(gen, 1, 10, 10), _images(gen, 1, 12, 12), 3.0, EPS),
    ]


def _loss_mistake(**wrong: Any) -> Callable[..., Tensor]:
    return lambda e, d, c, s, w, eps: _loss(e, d, c, s, w, eps, **wrong)


def check_decoder_loss(student_fn: Callable[..., Any]) -> bool:
    """``decoder_loss(encoder, decoder, content, style, style_weight, eps)``: with t = AdaIN(f(c), f(s)) (a
    constant target) and out = g(t) unclamped, L = mean (f_L(out) - t)^2 + style_weight sum_i [mean (mu_i(out)
    - mu_i(s))^2 + mean (sigma_i(out) - sigma_i(s))^2] over every layer phi_i the encoder returns."""
    mistakes = {
        "loss on pixels: the content term compares features, f(g(t)) with the AdaIN target t, not the "
        "picture g(t) with the content image": _loss_mistake(pixels=True),
        "content target f(c): the decoder must reproduce the AdaIN output t = AdaIN(f(c), f(s)), not the "
        "content's own features": _loss_mistake(content_target=True),
        "clamped the decoder's output before encoding it: the gradient is zero wherever the clamp bites; "
        "feed g(t) as it is": _loss_mistake(clamp=True),
        "style term at the last layer only: sum the mean and std errors over every layer the encoder "
        "returns": _loss_mistake(last_only=True),
        "no style term: add style_weight times the mean and std errors of every layer": _loss_mistake(
            no_style=True
        ),
        "style_weight not applied: L = L_c + style_weight L_s": _loss_mistake(weight=True),
        "style term matches only the means: add the squared errors of the stds": _loss_mistake(
            means_only=True
        ),
        "unbiased std (divides by N - 1): use the population std, correction=0": _loss_mistake(correction=1),
        "missing eps in the style statistics: sigma = sqrt(var + eps)": _loss_mistake(no_eps=True),
        "summed squared errors: the squared norms are means over the entries (F.mse_loss)": _loss_mistake(
            summed=True
        ),
    }
    return verdict(
        "decoder_loss", student_fn, decoder_loss_reference, _loss_cases(), mistakes, rtol=1e-6, atol=1e-9
    )


# ----------------------------------------------------------------------------------------------------
# Task 4: a few training steps
# ----------------------------------------------------------------------------------------------------


def train_reference(
    encoder: nn.Module,
    decoder: nn.Module,
    batches: Sequence[tuple[Tensor, Tensor]],
    lr: float = 1e-3,
    style_weight: float = 1.0,
    *,
    zero: bool = True,
    optimizer: str = "adam",
    fresh_optimizer: bool = False,
) -> list[float]:
    """Task 4's reference (and its mistakes): one Adam step on the decoder per (content, style) batch; the
    encoder frozen; returns the loss of each batch, computed before its step."""
    encoder.requires_grad_(False)
    make = (lambda: torch.optim.Adam(decoder.parameters(), lr=lr)) if optimizer == "adam" else None
    make = make or (lambda: torch.optim.SGD(decoder.parameters(), lr=lr))
    opt, losses = make(), []
    for content, style in batches:
        if fresh_optimizer:
            opt = make()
        loss = decoder_loss_reference(encoder, decoder, content, style, style_weight)
        if zero:
            opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def _train_case(seed: int) -> tuple[_TinyEncoder, _TinyDecoder, list[tuple[Tensor, Tensor]]]:
    """A fresh encoder (weights requiring gradients), decoder and 5 batches of tiny crops."""
    gen = torch.Generator().manual_seed(seed)
    batches = [(_images(gen, 2, 8, 8), _images(gen, 2, 10, 8)) for _ in range(5)]
    return tiny_encoder(seed + 1), tiny_decoder(seed + 2), batches


def _weights(module: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _frozen_and_updated(
    encoder: nn.Module, enc0: list[Tensor], decoder: nn.Module, dec0: list[Tensor]
) -> str | None:
    """What is wrong with the networks after the student's run: encoder changed or given gradients, or
    decoder unchanged; None when fine."""
    if any(not torch.equal(p, q) for p, q in zip(encoder.parameters(), enc0, strict=True)):
        return "the encoder's weights changed: the encoder is fixed, optimize the decoder's parameters only"
    if any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in encoder.parameters()):
        return (
            "gradients flowed into the encoder's weights: freeze the encoder (its weights must not require "
            "gradients), so that backward() computes only what the decoder needs"
        )
    if all(torch.equal(p, q) for p, q in zip(decoder.parameters(), dec0, strict=True)):
        return (
            "the decoder's weights did not change: after loss.backward() call the optimizer's step() (and "
            "zero the gradients before backward, not between backward and step)"
        )
    return None


def _as_losses(got: Any, n: int) -> list[float] | str:
    try:
        losses = [float(x.detach()) if isinstance(x, Tensor) else float(x) for x in got]
    except (TypeError, ValueError):
        return f"return the list of the {n} losses as numbers, got {type(got).__name__}"
    return losses if len(losses) == n else f"return one loss per batch ({n}), got {len(losses)}"


_TRAIN_MISTAKES = {
    "gradients never zeroed: they add up over the steps; zero them before every backward()": {"zero": False},
    "a new optimizer every step: Adam's running moments restart; create it once, before the loop": {
        "fresh_optimizer": True
    },
    "plain SGD: use Adam (torch.optim.Adam) on the decoder's parameters": {"optimizer": "sgd"},
}
_TRAIN_RUNS = ((1240, 5e-3, 2.0), (1250, 2e-2, 0.5))


def _train_mistake(got: list[float], seed: int, lr: float, weight: float) -> str | None:
    """The message of the training mistake whose losses the student's match (fresh networks for each)."""
    variants = {m: (lr, weight, kw) for m, kw in _TRAIN_MISTAKES.items()}
    variants["learning rate not used: pass lr to the optimizer"] = (1e-3, weight, {})
    variants["style_weight not passed on to decoder_loss"] = (lr, 1.0, {})
    for message, (lr_, w_, kw) in variants.items():
        encoder, decoder, batches = _train_case(seed)
        if difference(got, train_reference(encoder, decoder, batches, lr_, w_, **kw), 1e-6, 1e-9) is None:
            return message
    return None


def check_train_decoder(student_fn: Callable[..., Any]) -> bool:
    """``train_decoder(encoder, decoder, batches, lr, style_weight)``: Adam on the decoder's weights only
    (encoder frozen), one step per (content, style) batch on decoder_loss; returns the losses (before each
    step). Compared step by step with the reference on tiny seeded networks."""
    task, first_last = "train_decoder", []
    for seed, lr, weight in _TRAIN_RUNS:
        encoder, decoder, batches = _train_case(seed)
        enc0, dec0 = _weights(encoder), _weights(decoder)
        got, stopped = call_student(task, student_fn, (encoder, decoder, batches, lr, weight))
        if stopped is not None:
            return stopped
        problem = _frozen_and_updated(encoder, enc0, decoder, dec0)
        losses = got if problem else _as_losses(got, len(batches))
        if problem or isinstance(losses, str):
            return say(task, False, problem or str(losses))
        ref_encoder, ref_decoder, _ = _train_case(seed)
        expected = train_reference(ref_encoder, ref_decoder, batches, lr, weight)
        problem = difference(losses, expected, 1e-6, 1e-9) or difference(
            _weights(decoder), _weights(ref_decoder)
        )
        if problem:
            message = _train_mistake(losses, seed, lr, weight)
            return say(
                task, False, message or f"{problem} (if decoder_loss passes its check, look at the loop)"
            )
        first_last.append(f"{losses[0]:.3g} -> {losses[-1]:.3g}")
    return say(task, True, f"correct on {len(_TRAIN_RUNS)} runs of 5 steps (loss {', '.join(first_last)})")
