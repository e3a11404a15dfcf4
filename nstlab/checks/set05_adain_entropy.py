"""Checks of exercise set 05: AdaIN and how it changes the entropy of each channel.

AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y) per sample and channel, sigma = sqrt(var + eps)
(Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"). It
is affine per channel with slope sigma_s / sigma_c, and h(a X + b) = h(X) + log|a| (Cover & Thomas,
Thm 8.6.4), so the differential entropy changes by log(sigma_s / sigma_c).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import stats, transforms
from ._core import Args, adain_form, verdict
from ._random import normal


def _adain_moments(
    content: torch.Tensor,
    style: torch.Tensor,
    eps: float = 1e-5,
    dims: tuple[int, ...] = (2, 3),
    correction: int = 0,
    eps_on_std: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """mu_c, sigma_c, mu_s, sigma_s computed over ``dims`` (the ways AdaIN gets its statistics wrong)."""

    def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        var = x.var(dims, keepdim=True, correction=correction)
        return x.mean(dims, keepdim=True), (var.sqrt() + eps if eps_on_std else (var + eps).sqrt())

    return (*moments(content), *moments(style))


def _wrong_adain(form: str, **kw: Any) -> Callable[..., torch.Tensor]:
    """An AdaIN variant: ``form`` "swap", "mean", "normalize" or "ok", statistics as in ``_adain_moments``."""

    def fn(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        return adain_form(content, _adain_moments(content, style, **{"eps": eps, **kw}), form)

    return fn


def _adain_cases() -> list[Args]:
    gen = torch.Generator().manual_seed(112)
    quiet = torch.tensor([1.0, 1e-3, 1.0]).view(1, 3, 1, 1)  # channel 1 has variance 1e-6 < eps
    return [
        (normal(gen, 2, 3, 4, 5), 2.0 * normal(gen, 2, 3, 6, 4) + 1.0, 1e-5),
        ((normal(gen, 2, 3, 5, 4) * quiet).float(), (1.5 * normal(gen, 2, 3, 5, 5) - 0.5).float(), 1e-5),
        (normal(gen, 3, 4, 5, 5) * 2 + 1, 0.5 * normal(gen, 1, 4, 7, 7) - 1.0, 1e-3),
    ]


def check_adain(student_fn: Callable[..., Any]) -> bool:
    """``adain(content, style, eps)`` on (B, C, H, W) maps: sigma_s (x - mu_c) / sigma_c + mu_s per sample."""
    wrong = _wrong_adain
    mistakes = {
        "missing eps: sigma = sqrt(var + eps) keeps the division finite on a nearly constant channel": wrong(
            "ok", eps=0.0
        ),
        "statistics over the batch (BatchNorm-style): AdaIN normalizes each instance separately, mean and "
        "std over H and W only": [wrong("ok", dims=(0, 2, 3)), wrong("ok", dims=(0, 2, 3), correction=1)],
        "statistics over channels too (LayerNorm-style): mean and std per channel, over H and W only": wrong(
            "ok", dims=(1, 2, 3)
        ),
        "std and mean swapped: scale by sigma(s), then add mu(s)": wrong("swap"),
        "only the mean matched: also scale by sigma(s) / sigma(x)": wrong("mean"),
        "only normalized (that is instance norm): then scale by sigma(s) and add mu(s)": wrong("normalize"),
        "unbiased std (divides by N - 1): AdaIN uses the population std, x.var(..., correction=0)": wrong(
            "ok", correction=1
        ),
        "eps added to the std instead of the variance: sigma = sqrt(var + eps)": wrong("ok", eps_on_std=True),
    }
    reference = lambda c, s, eps: transforms.adain(c, s, eps=eps)  # noqa: E731
    return verdict("adain", student_fn, reference, _adain_cases(), mistakes, atol=1e-5)


def _sd(x: torch.Tensor, correction: int = 0) -> torch.Tensor:
    return x.std(-1, correction=correction)


def check_entropy_change(student_fn: Callable[..., Any]) -> bool:
    """``entropy_change(content, style)``: the per-channel entropy change of AdaIN, log(sigma_s / sigma_c)."""
    gen = torch.Generator().manual_seed(113)
    cases = []
    for C, n_c, n_s in ((3, 200, 300), (4, 150, 120), (2, 400, 250)):
        sc = torch.rand(C, 1, generator=gen, dtype=torch.float64) * 2.5 + 0.2
        ss = torch.rand(C, 1, generator=gen, dtype=torch.float64) * 2.5 + 0.2
        cases.append((sc * normal(gen, C, n_c) + 1.0, ss * normal(gen, C, n_s) - 2.0))

    mistakes = {
        "sign flipped: AdaIN multiplies channel c by sigma_s / sigma_c, so the entropy changes by "
        "log(sigma_s / sigma_c)": lambda c, s: (_sd(c) / _sd(s)).log(),
        "log of the variance ratio, twice the answer: h(a X + b) = h(X) + log|a|, a = sigma_s / sigma_c": (
            lambda c, s: (_sd(s) ** 2 / _sd(c) ** 2).log()
        ),
        "difference of the stds; the change is the log of their ratio": lambda c, s: _sd(s) - _sd(c),
        "the ratio sigma_s / sigma_c without the log": lambda c, s: _sd(s) / _sd(c),
        "the entropy of the styled Gaussian, (1/2) log(2 pi e sigma_s^2), not the change": (
            lambda c, s: stats.gaussian_entropy(_sd(s))
        ),
    }
    reference = lambda c, s: transforms.adain_entropy_change(c, s).exact  # noqa: E731
    return verdict("entropy_change", student_fn, reference, cases, mistakes, rtol=1e-4, atol=1e-4)
