"""Checks of exercise set 11: the Gatys method from scratch.

The pieces of Gatys, Ecker & Bethge (2016), "Image Style Transfer Using Convolutional Neural Networks"
(CVPR), in the normalized form of :mod:`nstlab.optimize`:

- ``preprocess``: RGB in [0, 1] -> vgg16-hed's input, BGR, 0-255, minus the mean pixel
  (103.939, 116.779, 123.68) (Caffe; :meth:`nstlab.backbones.Backbone.preprocess`);
- ``content_loss``: ||F(x) - F(c)||^2 / ||F(c)||^2 (eq. 1 divided by its value at F(x) = 0);
- ``gram_style_loss``: ||G(x) - G_s||_F^2 / ||G_s||_F^2 with G = F F^T / N (eq. 3-5, normalized per layer);
- ``tv_loss``: mean (x_{i+1,j} - x_ij)^2 + mean (x_{i,j+1} - x_ij)^2 (:func:`nstlab.losses.total_variation`);
- ``gatys_loss``: alpha * mean_l content + beta * mean_l style + gamma * TV, targets computed once and
  detached (:class:`nstlab.optimize.Objective`);
- ``stylize_loop``: the loop of :func:`nstlab.optimize.run`: zero the gradient, evaluate, backward, step,
  clamp to [0, 1]. :func:`loop_reference` is that loop without run's projected-step bookkeeping for
  L-BFGS (the two agree exactly for Adam and while no pixel is clamped).

The references below are written with knobs that make the wrong variants students write; tests tie them
to the library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import Tensor

from .. import backbones, images, losses, stats
from ..optimize import DEFAULT_LR, STYLE_LAYERS
from ._core import Args, call_student, difference, named_mistake, say, verdict
from ._random import normal

Features = Callable[[Tensor, Sequence[str]], dict[str, Tensor]]
LossFn = Callable[[Tensor], Tensor]
TINY_LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def _uniform(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Entries uniform in [0, 1] (an image), drawn in float64 and returned in ``dtype``."""
    return torch.rand(*shape, generator=gen, dtype=torch.float64).to(dtype)


def _features(gen: torch.Generator, C: int, H: int, W: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """(1, C, H, W) nonnegative, ReLU-like feature maps."""
    return torch.relu(normal(gen, 1, C, H, W) + 0.3).to(dtype)


# ----------------------------------------------------------------------------------------------------
# Task 1: preprocessing for vgg16-hed
# ----------------------------------------------------------------------------------------------------


def _pixel(img: Tensor, values: Sequence[float]) -> Tensor:
    return torch.tensor(values, dtype=img.dtype).view(1, 3, 1, 1)


def preprocess_reference(img: Tensor) -> Tensor:
    """BGR, 0-255, minus Caffe's mean pixel (B, G, R) = (103.939, 116.779, 123.68)."""
    return img.flip(1) * 255 - _pixel(img, backbones.CAFFE_MEAN_BGR)


def _preprocess_mistakes() -> dict[str, Any]:
    mean = backbones.CAFFE_MEAN_BGR
    imagenet = lambda x: (x - _pixel(x, backbones.IMAGENET_MEAN)) / _pixel(x, backbones.IMAGENET_STD)  # noqa: E731
    return {
        "kept RGB order: vgg16-hed (Caffe) was trained on BGR images; flip the channels, img.flip(1)": [
            lambda x: x * 255 - _pixel(x, mean),
            lambda x: x * 255 - _pixel(x, mean[::-1]),
        ],
        "left the image in 0-1: multiply by 255 before subtracting the mean pixel "
        "(103.939, 116.779, 123.68)": [
            lambda x: x.flip(1) - _pixel(x, mean),
            lambda x: x.flip(1) - _pixel(x, mean) / 255,
            lambda x: x.flip(1) / 255 - _pixel(x, mean),
        ],
        "subtracted the mean in RGB order: (103.939, 116.779, 123.68) are the means of B, G and R; flip the "
        "image, then subtract them in that order": lambda x: x.flip(1) * 255 - _pixel(x, mean[::-1]),
        "forgot to subtract the mean pixel (103.939, 116.779, 123.68)": lambda x: x.flip(1) * 255,
        "flipped the wrong axis: the channels are dim 1 of (B, 3, H, W)": [
            lambda x, d=d: x.flip(d) * 255 - _pixel(x, mean) for d in (0, 2, 3)
        ],
        "ImageNet normalization (torchvision's mean and std, what vgg19 uses): vgg16-hed wants Caffe's BGR, "
        "0-255, minus the mean pixel": [imagenet, lambda x: imagenet(x).flip(1)],
    }


def check_preprocess(student_fn: Callable[..., Any]) -> bool:
    """``preprocess(img)``: (B, 3, H, W) RGB in [0, 1] -> BGR, 0-255, minus the mean pixel, in the image's
    dtype; the caller's image left as it was."""
    gen = torch.Generator().manual_seed(1101)
    cases = [(_uniform(gen, 1, 3, 5, 7),), (_uniform(gen, 2, 3, 4, 6, dtype=torch.float32),)]
    return verdict(
        "preprocess",
        student_fn,
        preprocess_reference,
        cases,
        _preprocess_mistakes(),
        atol=1e-3,
        keep_dtype=True,
    )


# ----------------------------------------------------------------------------------------------------
# Task 2: content loss
# ----------------------------------------------------------------------------------------------------


def content_loss_reference(Fx: Tensor, Fc: Tensor) -> Tensor:
    """||F(x) - F(c)||^2 / ||F(c)||^2: the text's 1/2 ||F(x) - F(c)||^2 divided by its value at F(x) = 0."""
    at_zero = losses.content_loss(torch.zeros_like(Fc), Fc, reduction="sum")
    return losses.content_loss(Fx, Fc, reduction="sum") / at_zero


def _content_loss_mistakes() -> dict[str, Any]:
    sq = lambda Fx, Fc: (Fx - Fc).pow(2).sum()  # noqa: E731
    return {
        "not normalized: divide by ||F(c)||^2 (the loss at F(x) = 0), so that layers of any size weigh "
        "alike": [
            sq,
            lambda Fx, Fc: 0.5 * sq(Fx, Fc),
        ],
        "divided by ||F(x)||^2: divide by the target's ||F(c)||^2, a constant": (
            lambda Fx, Fc: sq(Fx, Fc) / Fx.pow(2).sum()
        ),
        "mean squared error: divide the squared error by ||F(c)||^2, not by the number of entries": [
            lambda Fx, Fc: (Fx - Fc).pow(2).mean(),
            lambda Fx, Fc: 0.5 * (Fx - Fc).pow(2).mean(),
        ],
        "a mean over the entries on top, a sum below: use the sum in both (or the mean in both)": (
            lambda Fx, Fc: (Fx - Fc).pow(2).mean() / Fc.pow(2).sum()
        ),
        "not squared: the loss is ||F(x) - F(c)||^2 / ||F(c)||^2, squared norms": [
            lambda Fx, Fc: (Fx - Fc).norm() / Fc.norm(),
            lambda Fx, Fc: sq(Fx, Fc) / Fc.norm(),
        ],
        "kept the 1/2 of the text's formula: divided by its value at F(x) = 0 (which has the 1/2 too), it "
        "cancels": lambda Fx, Fc: 0.5 * sq(Fx, Fc) / Fc.pow(2).sum(),
    }


def check_content_loss(student_fn: Callable[..., Any]) -> bool:
    """``content_loss(Fx, Fc)``: ||Fx - Fc||^2 / ||Fc||^2 for feature maps (1, C, H, W)."""
    gen = torch.Generator().manual_seed(1102)
    cases = [
        (_features(gen, 6, 5, 7), _features(gen, 6, 5, 7)),
        (_features(gen, 16, 4, 4, torch.float32), _features(gen, 16, 4, 4, torch.float32)),
        (3 * _features(gen, 9, 3, 8), _features(gen, 9, 3, 8)),
    ]
    return verdict(
        "content_loss", student_fn, content_loss_reference, cases, _content_loss_mistakes(), grad_of=(0,)
    )


# ----------------------------------------------------------------------------------------------------
# Task 3: Gram style loss
# ----------------------------------------------------------------------------------------------------


def gram_style_loss_reference(Fx: Tensor, Gs: Tensor) -> Tensor:
    """||G(x) - G_s||_F^2 / ||G_s||_F^2 with G(x) = F F^T / N of the map Fx (1, C, H, W); Gs is (C, C)."""
    return losses.gram_loss(Fx, Gs, normalize="n") / Gs.pow(2).sum()


def _gram_variant(
    Fx: Tensor, Gs: Tensor, normalize: str = "n", divide_by: str = "target", power: float = 1.0
):
    """A Gram loss with another Gram normalization, another layer normalization or a missing square."""
    diff = (stats.gram(Fx, normalize=normalize)[0] - Gs).pow(2).sum()
    C = Fx.shape[1]
    scale = {"target": Gs.pow(2).sum(), "x": stats.gram(Fx, normalize=normalize).pow(2).sum(), "none": 1.0}
    scale.update({"C2": C**2, "4C2": 4 * C**2})
    return (diff / scale[divide_by]) ** power


def _gram_mistakes() -> dict[str, Any]:
    v = _gram_variant
    return {
        "F^T F (positions x positions) instead of F F^T (channels x channels)": (
            lambda Fx, Gs: (
                (Fx[0].flatten(1).T @ Fx[0].flatten(1) / Fx[0, 0].numel() - Gs).pow(2).sum() / Gs.pow(2).sum()
            )
        ),
        "G(x) not divided by N = H W: the target Gs is F F^T / N, so G(x) must be too": [
            lambda Fx, Gs: v(Fx, Gs, "none"),
            lambda Fx, Gs: v(Fx, Gs, "none", "x"),
        ],
        "G(x) divided by C N: the target Gs is F F^T / N; divide by N only": lambda Fx, Gs: v(Fx, Gs, "cn"),
        "not normalized per layer: divide by ||G_s||_F^2, so that every layer's loss is 1 for an all-zero "
        "image": lambda Fx, Gs: v(Fx, Gs, divide_by="none"),
        "divided by ||G(x)||_F^2: normalize by the target's ||G_s||_F^2, a constant": (
            lambda Fx, Gs: v(Fx, Gs, divide_by="x")
        ),
        "a fixed 1/C^2 (the mean over entries) or Gatys' 1/(4 N^2 C^2) instead of dividing by ||G_s||_F^2": [
            lambda Fx, Gs: v(Fx, Gs, divide_by="C2"),
            lambda Fx, Gs: v(Fx, Gs, divide_by="4C2"),
        ],
        "a mean over the entries on top, a sum below: use the sum in both (or the mean in both)": (
            lambda Fx, Gs: v(Fx, Gs, divide_by="C2") / Gs.pow(2).sum()
        ),
        "not squared: use the squared Frobenius norms ||G(x) - G_s||_F^2 / ||G_s||_F^2": (
            lambda Fx, Gs: v(Fx, Gs, power=0.5)
        ),
        "centred the features (a covariance): the Gram matrix is the raw F F^T / N, no mean subtracted": (
            lambda Fx, Gs: v(Fx - Fx.mean(dim=(2, 3), keepdim=True), Gs)
        ),
    }


def check_gram_style_loss(student_fn: Callable[..., Any]) -> bool:
    """``gram_style_loss(Fx, Gs)``: ||F F^T / N - Gs||_F^2 / ||Gs||_F^2 for Fx (1, C, H, W), Gs (C, C)."""
    gen = torch.Generator().manual_seed(1103)
    target = lambda C, H, W, dtype=torch.float64: stats.gram(_features(gen, C, H, W, dtype), normalize="n")[0]  # noqa: E731
    cases = [
        (_features(gen, 16, 4, 4), target(16, 6, 5)),  # C = N first: F^T F has the right shape here
        (_features(gen, 5, 6, 7), target(5, 8, 3)),
        (_features(gen, 12, 3, 5, torch.float32), target(12, 4, 4, torch.float32)),
    ]
    return verdict(
        "gram_style_loss", student_fn, gram_style_loss_reference, cases, _gram_mistakes(), grad_of=(0,)
    )


# ----------------------------------------------------------------------------------------------------
# Task 4: total variation
# ----------------------------------------------------------------------------------------------------


def _squared_steps(x: Tensor, dim: int, reduce: str = "mean", roll: bool = False) -> Tensor:
    """Squared differences of neighbours along ``dim`` (cyclic with ``roll``), averaged or summed."""
    n = x.shape[dim]
    d = x - x.roll(1, dim) if roll else x.narrow(dim, 1, n - 1) - x.narrow(dim, 0, n - 1)
    return d.pow(2).mean() if reduce == "mean" else d.pow(2).sum()


def _tv_mistakes() -> dict[str, Any]:
    s = _squared_steps
    crop = lambda x: (x[..., 1:, :-1] - x[..., :-1, :-1], x[..., :-1, 1:] - x[..., :-1, :-1])  # noqa: E731
    wrong_axes = [(1, 2), (1, 3), (0, 2), (0, 3), (2, 2), (3, 3), (1, 1)]
    return {
        "TV on the wrong axis: take differences along H (dim 2) and W (dim 3) of (B, C, H, W), not along "
        "the channels or the batch": [lambda x, a=a, b=b: s(x, a) + s(x, b) for a, b in wrong_axes],
        "only one direction: add the vertical (H) and the horizontal (W) differences": [
            lambda x: s(x, 2),
            lambda x: s(x, 3),
        ],
        "absolute differences: this TV squares them, mean (x_{i+1,j} - x_ij)^2 + mean (x_{i,j+1} - x_ij)^2": (
            lambda x: (
                (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
            )
        ),
        "isotropic TV, sqrt(dh^2 + dw^2): the course's TV is the sum of the two squared differences": (
            lambda x: (crop(x)[0].pow(2) + crop(x)[1].pow(2)).sqrt().mean()
        ),
        "sums instead of means: average each direction over its differences, so the weight does not "
        "depend on the image size": [
            lambda x: s(x, 2, "sum") + s(x, 3, "sum"),
            lambda x: (s(x, 2, "sum") + s(x, 3, "sum")) / x.numel(),
        ],
        "wrap-around differences (torch.roll): the last row and the first are not neighbours": [
            lambda x: s(x, 2, roll=True) + s(x, 3, roll=True),
        ],
    }


def check_tv_loss(student_fn: Callable[..., Any]) -> bool:
    """``tv_loss(x)``: mean (x_{i+1,j} - x_ij)^2 + mean (x_{i,j+1} - x_ij)^2 over a batch (B, C, H, W)."""
    gen = torch.Generator().manual_seed(1104)
    cases = [
        (_uniform(gen, 1, 3, 7, 9),),
        (_uniform(gen, 2, 3, 5, 6, dtype=torch.float32),),
        (_uniform(gen, 1, 3, 8, 4) ** 3,),
    ]
    return verdict("tv_loss", student_fn, losses.total_variation, cases, _tv_mistakes(), grad_of=(0,))


# ----------------------------------------------------------------------------------------------------
# Task 5: the objective
# ----------------------------------------------------------------------------------------------------


def tiny_network(seed: int = 1100) -> Features:
    """A small seeded float64 network with VGG-style layer names (``TINY_LAYERS``: 3x3 convolutions with
    8, 12 and 16 channels, ReLU, 2x2 average pooling between them). Its weights require grad, as those of
    a network nobody froze do, so targets that keep their graph show. ``features(img, layers)`` returns
    ``{name: (1, C, H, W)}`` like :meth:`nstlab.backbones.Backbone.features`."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(8, 3), (12, 8), (16, 12)]
    weights = [(normal(gen, o, i, 3, 3) * (2 / (9 * i)) ** 0.5).requires_grad_(True) for o, i in shapes]

    def features(img: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        out, h = {}, img - 0.5
        for k, (name, w) in enumerate(zip(TINY_LAYERS, weights, strict=True)):
            h = torch.relu(nnf.conv2d(nnf.avg_pool2d(h, 2) if k else h, w, padding=1))
            if name in layers:
                out[name] = h
        return out

    return features


def _objective(
    features: Features,
    content: Tensor | None,
    style: Tensor | None,
    content_layers: Sequence[str],
    style_layers: Sequence[str],
    alpha: float,
    beta: float,
    gamma: float,
    *,
    average: bool = True,
    swap: bool = False,
    tv: bool = True,
) -> LossFn:
    """alpha * mean_l content + beta * mean_l style + gamma * TV (``average=False`` sums the layers, ``swap``
    exchanges alpha and beta, ``tv=False`` drops the TV term); targets computed once without gradient."""
    with torch.no_grad():
        Fc = features(content, content_layers) if content is not None else {}
        Fs = features(style, style_layers) if style is not None else {}
        Gs = {n: stats.gram(F, normalize="n")[0] for n, F in Fs.items()}
    a, b = (beta, alpha) if swap else (alpha, beta)
    combine = (lambda terms: sum(terms) / len(terms)) if average else sum

    def loss(x: Tensor) -> Tensor:
        F = features(x, [*Fc, *Gs])
        total = gamma * losses.total_variation(x) if tv else x.new_zeros(())
        if Fc:
            total = total + a * combine([content_loss_reference(F[n], Fc[n]) for n in Fc])
        if Gs:
            total = total + b * combine([gram_style_loss_reference(F[n], Gs[n]) for n in Gs])
        return total

    return loss


def gatys_loss_reference(
    features: Features, content: Tensor | None = None, style: Tensor | None = None, **kw: Any
) -> LossFn:
    """The objective of :class:`nstlab.optimize.Objective`, for any ``features`` function."""
    return _objective(features, content, style, **kw)


_NOT_DETACHED = (
    "targets not detached: compute F(c) and G(s) once, under torch.no_grad() (or .detach() them); otherwise "
    "every backward() runs through the target images and the network too, and the second one fails"
)
_OBJECTIVE_MISTAKES = {
    "layer losses summed: each term is the mean over its layers (weights 1/len(layers), as "
    "optimize.stylize normalizes them)": dict(average=False),
    "alpha and beta swapped: alpha weighs the content term, beta the style term": dict(swap=True),
    "forgot the total-variation term gamma * tv_loss(x)": dict(tv=False),
}


def _objective_cases(gen: torch.Generator) -> list[tuple[str, dict[str, Any]]]:
    c, s = _uniform(gen, 1, 3, 16, 16), _uniform(gen, 1, 3, 16, 20)
    gatys = dict(content_layers=["relu2_1"], style_layers=list(TINY_LAYERS), alpha=1.0, beta=100.0, gamma=1.0)
    return [
        ("content and style", dict(content=c, style=s, **gatys)),
        (
            "two content layers",
            dict(
                content=c,
                style=s,
                content_layers=["relu2_1", "relu3_1"],
                style_layers=["relu1_1", "relu3_1"],
                alpha=2.0,
                beta=30.0,
                gamma=0.5,
            ),
        ),
        ("content=None (texture synthesis: no content term)", {**gatys, "content": None, "style": s}),
        ("style=None (feature inversion: no style term)", {**gatys, "content": c, "style": None}),
    ]


_TARGETS_EVERY_CALL = (
    "loss_fn(x) runs the network on the content or style image at every call: the targets F(c) and G(s) "
    "are constants, so compute them once, when gatys_loss is called, and only the features of x in loss_fn"
)


def _differentiable(task: str, loss_fn: Callable[..., Any], x: Tensor, what: str) -> bool | None:
    """None when loss_fn(x) backpropagates to x twice in a row (targets detached); else the verdict."""
    try:
        for _ in range(2):
            x.grad = None
            loss_fn(x).backward()
    except RuntimeError as err:
        if "second time" in str(err):
            return say(task, False, _NOT_DETACHED)
        return say(task, False, f"backward() failed with {what}: {err}")
    if x.grad is None or not torch.isfinite(x.grad).all() or not x.grad.abs().sum() > 0:
        return say(
            task,
            False,
            f"no gradient reaches x with {what}: compute the features of x itself, with "
            "autograd on (no torch.no_grad() or .detach() on x)",
        )
    return None


def _objective_verdict(
    task: str, student_fn: Callable[..., Any], features: Features, x: Tensor, what: str, kw: dict[str, Any]
) -> bool | None:
    """None when the student's objective is right on one setting, else the printed verdict."""
    inputs = {k: (v.clone().requires_grad_(True) if isinstance(v, Tensor) else v) for k, v in kw.items()}
    seen: list[Tensor] = []  # the images the student's objective passed to the network

    def counted(img: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        seen.append(img)
        return features(img, layers)

    loss_fn, stopped = call_student(
        task,
        lambda: student_fn(counted, **inputs),
        (),
        lambda e: f"raised {type(e).__name__} with {what}: {e}",
    )
    if stopped is not None:
        return stopped
    got, stopped = call_student(
        task, lambda: loss_fn(x), (), lambda e: f"loss_fn(x) raised {type(e).__name__} with {what}: {e}"
    )
    if stopped is not None:
        return stopped
    if not isinstance(got, Tensor) or got.ndim != 0:
        return say(
            task, False, f"loss_fn(x) must return a 0-d tensor (one number to backpropagate), got {got!r}"
        )
    expected = gatys_loss_reference(features, **kw)(x)
    if difference(got, expected, rtol=1e-5, atol=1e-8) is not None:
        variants = {
            m: (lambda x_, o=o: _objective(features, **kw, **o)(x_)) for m, o in _OBJECTIVE_MISTAKES.items()
        }
        named = named_mistake(got, (x,), variants, rtol=1e-5, atol=1e-8)
        problem = named or difference(got, expected, rtol=1e-5, atol=1e-8)
        hint = "" if named else " (do content_loss, gram_style_loss and tv_loss pass their checks?)"
        return say(task, False, f"with {what}: {problem}{hint}")
    stopped = _differentiable(task, loss_fn, x.detach().clone().requires_grad_(True), what)
    if stopped is not None:
        return stopped
    if any(v.grad is not None for v in inputs.values() if isinstance(v, Tensor)):
        return say(task, False, _NOT_DETACHED)
    seen.clear()
    loss_fn(x)
    if any(img is not x for img in seen):
        return say(task, False, _TARGETS_EVERY_CALL)
    return None


def check_gatys_loss(student_fn: Callable[..., Any]) -> bool:
    """``gatys_loss(features, content, style, content_layers=..., style_layers=..., alpha=..., beta=...,
    gamma=...)`` -> loss_fn with loss_fn(x) = alpha mean_l L_content + beta mean_l L_style + gamma TV(x),
    targets computed once (loss_fn runs the network on x only) and detached; None switches a term off. Run
    on :func:`tiny_network`."""
    task, gen = "gatys_loss", torch.Generator().manual_seed(1105)
    features = tiny_network()
    cases = _objective_cases(gen)
    x = _uniform(gen, 1, 3, 16, 16).requires_grad_(True)
    for what, kw in cases:
        stopped = _objective_verdict(task, student_fn, features, x, what, kw)
        if stopped is not None:
            return stopped
    return say(
        task,
        True,
        f"correct on {len(cases)} settings of a small seeded network (values, gradient, targets detached and "
        "computed once)",
    )


# ----------------------------------------------------------------------------------------------------
# Task 6: the loop
# ----------------------------------------------------------------------------------------------------


def _optimizer(
    x: Tensor,
    name: str,
    lr: float | None,
    max_iter: int = 1,
    adam_lr: float | None = None,
    line_search: str | None = None,
) -> torch.optim.Optimizer:
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "lbfgs":
        return torch.optim.LBFGS([x], lr=lr, max_iter=max_iter, history_size=50, line_search_fn=line_search)
    return torch.optim.Adam([x], lr=adam_lr or lr)


def _loop(
    x0: Tensor,
    loss_fn: LossFn,
    steps: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    *,
    zero_grad: bool = True,
    clamp: bool = True,
    copy: bool = False,
    record_after: bool = False,
    **make: Any,
) -> tuple[Tensor, list[float]]:
    """The loop with knobs: ``zero_grad=False`` accumulates gradients, ``clamp=False`` never clamps,
    ``copy`` hands the optimizer a copy of x, ``record_after`` records the loss after each step, ``make``
    goes to :func:`_optimizer` (max_iter, adam_lr, name)."""
    x = x0.detach().clone().requires_grad_(True)
    name = make.pop("name", optimizer)
    opt = _optimizer(x.detach().clone().requires_grad_(True) if copy else x, name, lr, **make)
    history = []

    def closure() -> Tensor:
        if zero_grad:
            opt.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    for _ in range(steps):
        loss = opt.step(closure)
        if clamp:
            with torch.no_grad():
                x.clamp_(0, 1)
        history.append(loss_fn(x).item() if record_after else loss.item())
    return x.detach(), history


def loop_reference(
    x0: Tensor, loss_fn: LossFn, steps: int, optimizer: str = "lbfgs", lr: float | None = None
) -> tuple[Tensor, list[float]]:
    """Minimize loss_fn over the pixels from x0 (not modified): every step zero the gradient, evaluate,
    backward, step (L-BFGS: one evaluation, max_iter=1, history 50; lr None: 1.0, Adam 0.02), clamp x to
    [0, 1] in place. Returns (image, history), history[k] the loss the k-th step evaluated (before it)."""
    return _loop(x0, loss_fn, steps, optimizer, lr)


_NO_CLAMP = "the image leaves [0, 1]: clamp x in place after every step, with torch.no_grad(): x.clamp_(0, 1)"
_LOOP_MISTAKES: dict[str, dict[str, Any]] = {
    "gradients not zeroed: call opt.zero_grad() in the closure, before loss.backward() (they add up)": dict(
        zero_grad=False
    ),
    _NO_CLAMP: dict(clamp=False),
    "optimized a copy: the optimizer must update the very tensor the loss is computed on": dict(copy=True),
    "L-BFGS with its default max_iter=20 (up to 20 evaluations a step): use max_iter=1 like "
    "optimize.run": dict(max_iter=20),
    "Adam's default lr=1e-3: pass lr (None means 0.02 for Adam, 1.0 for L-BFGS)": dict(adam_lr=1e-3),
    "always L-BFGS: use torch.optim.Adam when optimizer='adam'": dict(name="lbfgs"),
    "L-BFGS with a strong-Wolfe line search: optimize.run takes the plain step (line_search_fn=None)": dict(
        line_search="strong_wolfe"
    ),
    "history holds the loss after each step: record what opt.step(closure) returns, the loss at the image "
    "before the step (history[0] is the loss of x0)": dict(record_after=True),
}
_RAISED = {
    "second time": "x = x.clamp(0, 1) makes a new tensor the optimizer does not know: clamp in place, "
    "x.clamp_(0, 1), under torch.no_grad()",
    "leaf Variable": "an in-place clamp of the optimized tensor must run under torch.no_grad()",
    "must lie in [0, 1]": _NO_CLAMP,
    "non-leaf Tensor": "the optimizer needs a leaf tensor: x = x0.detach().clone().requires_grad_(True); "
    "give the optimizer that very x and compute the loss on it",
    "does not require grad": "the loss does not depend on the optimized tensor: make x = "
    "x0.detach().clone().requires_grad_(True), give it to the optimizer and evaluate loss_fn(x)",
}


def _raised(err: Exception) -> str:
    named = [message for key, message in _RAISED.items() if key in str(err)]
    return named[0] if named else f"raised {type(err).__name__}: {err}"


def _as_result(got: Any) -> tuple[Tensor, list[float]] | str:
    """The student's (image, history) as (float64 tensor, floats), or what is wrong with it."""
    if not isinstance(got, tuple | list) or len(got) != 2:
        return "return (image, history): the optimized image and the list of losses, one per step"
    image, history = got
    if not isinstance(image, Tensor):
        return f"the image must be a tensor, got {type(image).__name__}"
    try:
        history = [float(h) for h in history]
    except (TypeError, ValueError, RuntimeError) as err:
        return f"history must be a list of numbers, one per step ({err})"
    return image.detach().to(torch.float64), history


def _run_student(task: str, student_fn: Callable[..., Any], case: Args) -> tuple[Tensor, list[float]] | bool:
    """Call stylize_loop on a case; (image, history), or the printed verdict when the call went wrong."""
    x0, loss_fn, steps, optimizer, lr = case
    start = x0.clone()
    got, stopped = call_student(
        task, lambda: student_fn(x0, loss_fn, steps, optimizer=optimizer, lr=lr), (), _raised
    )
    if stopped is not None:
        return stopped
    if not torch.equal(x0, start) or x0.requires_grad:
        return say(
            task, False, "changed the caller's x0: start from x = x0.detach().clone().requires_grad_(True)"
        )
    parsed = _as_result(got)
    if isinstance(parsed, str):
        return say(task, False, parsed)
    if len(parsed[1]) != steps:
        return say(task, False, f"history has {len(parsed[1])} entries for steps={steps}: one loss per step")
    if parsed[0].shape != x0.shape:
        return say(task, False, f"the image has shape {tuple(parsed[0].shape)}, x0 {tuple(x0.shape)}")
    return parsed


def _loop_verdict(task: str, student_fn: Callable[..., Any], case: Args) -> bool | None:
    """None when the student's loop matches the reference on one case, else the printed verdict."""
    result = _run_student(task, student_fn, case)
    if isinstance(result, bool):
        return result
    expected = loop_reference(*case)
    problem = difference(result, expected, rtol=1e-5, atol=1e-8)
    if problem is None:
        return None
    variants = {m: (lambda *a, o=o: _loop(*a, **o)) for m, o in _LOOP_MISTAKES.items()}
    named = named_mistake(result, case, variants, rtol=1e-5, atol=1e-8)
    if named is None and not bool(((result[0] >= 0) & (result[0] <= 1)).all()):
        named = _NO_CLAMP
    return say(task, False, f"{named or problem} ({case[3]}, {case[2]} steps)")


def _pixel_problem(gen: torch.Generator, *shape: int) -> LossFn:
    """sum w (x - t)^2 with targets t partly outside [0, 1] (the clamp matters), weights w in [0.5, 1.5]."""
    t, w = 1.8 * _uniform(gen, *shape) - 0.4, 0.5 + _uniform(gen, *shape)
    return lambda x: (w * (x - t).pow(2)).sum()


def check_stylize_loop(student_fn: Callable[..., Any]) -> bool:
    """``stylize_loop(x0, loss_fn, steps, optimizer="lbfgs", lr=None)`` -> (image, history): compared step by
    step with :func:`loop_reference` on pixel problems whose optimum lies partly outside [0, 1] (Adam and
    L-BFGS) and on the Gatys objective of :func:`tiny_network` (a few steps)."""
    task, gen = "stylize_loop", torch.Generator().manual_seed(1106)
    features = tiny_network()
    c, s = _uniform(gen, 1, 3, 16, 16), _uniform(gen, 1, 3, 16, 20)
    gatys = gatys_loss_reference(
        features,
        c,
        s,
        content_layers=["relu2_1"],
        style_layers=list(TINY_LAYERS),
        alpha=1.0,
        beta=100.0,
        gamma=1.0,
    )
    cases = [
        (_uniform(gen, 1, 3, 6, 5), _pixel_problem(gen, 1, 3, 6, 5), 6, "adam", 0.1),
        (_uniform(gen, 1, 3, 6, 5), _pixel_problem(gen, 1, 3, 6, 5), 4, "lbfgs", None),
        (c.clone(), gatys, 5, "lbfgs", None),
        (c.clone(), gatys, 4, "adam", None),
    ]
    for case in cases:
        stopped = _loop_verdict(task, student_fn, case)
        if stopped is not None:
            return stopped
    return say(
        task,
        True,
        "matches the reference step by step (Adam and L-BFGS; pixel problems and the Gatys "
        "loss on a small seeded network)",
    )


def check_stylize_loop_vgg(student_fn: Callable[..., Any], size: int = 64, steps: int = 8) -> bool:
    """Run ``stylize_loop`` with L-BFGS on the Gatys loss of vgg16-hed (chelsea in the style of strokes,
    ``size`` px, from the content photo): the loss must fall below a third of its start in ``steps`` steps."""
    task = "stylize_loop on vgg16-hed"
    try:
        net = backbones.load_backbone("vgg16-hed")
        device = next(net.parameters()).device
        c, s = (images.load(name, size=size).to(device) for name in ("chelsea", "strokes"))
    except Exception as err:  # missing weights: say so, never raise
        return say(task, False, f"could not load vgg16-hed or the sample images: {err}")
    loss_fn = gatys_loss_reference(
        net.features,
        c,
        s,
        content_layers=["relu4_2"],
        style_layers=list(STYLE_LAYERS),
        alpha=1.0,
        beta=100.0,
        gamma=1.0,
    )
    result = _run_student(task, student_fn, (c, loss_fn, steps, "lbfgs", None))
    if isinstance(result, bool):
        return result
    image, history = result
    if not bool(((image >= 0) & (image <= 1)).all()):
        return say(task, False, _NO_CLAMP)
    first, last = history[0], history[-1]
    if not last < first / 3:
        return say(
            task, False, f"the loss did not fall to a third: {first:.3g} -> {last:.3g} in {steps} steps"
        )
    return say(
        task, True, f"the Gatys loss fell from {first:.3g} to {last:.3g} in {steps} L-BFGS steps ({size} px)"
    )
