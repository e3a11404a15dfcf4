"""Checks of set 05 (AdaIN and its entropy change): each passes nstlab's reference and a correct
implementation written differently, and names every typical mistake (written here by hand)."""

from __future__ import annotations

import torch
from check_harness import check_tests

from nstlab import checks, transforms


def adain_mine(content, style, eps=1e-5):
    def mean_sd(x):
        flat = x.flatten(2)
        mu = flat.mean(-1)[..., None, None]
        var = ((flat - flat.mean(-1, keepdim=True)) ** 2).mean(-1)[..., None, None]
        return mu, torch.sqrt(var + eps)

    (mc, sc), (ms, ss) = mean_sd(content), mean_sd(style)
    return (content - mc) / sc * ss + ms


def entropy_change_mine(content, style):
    return torch.log(style.std(-1, correction=0)) - torch.log(content.std(-1, correction=0))


def _adain(c, s, eps=1e-5, dims=(2, 3), unbiased=False, form="ok", eps_on_std=False):
    def ms(x):
        mu = x.mean(dims, keepdim=True)
        sd = x.std(dims, keepdim=True, unbiased=unbiased)
        return mu, (sd + eps if eps_on_std else torch.sqrt(sd**2 + eps))

    (mc, sc), (mu_s, ss) = ms(c), ms(s)
    if form == "swap":
        return (c - mc) / sc * mu_s + ss
    if form == "mean":
        return c - mc + mu_s
    if form == "norm":
        return (c - mc) / sc
    return (c - mc) / sc * ss + mu_s


CORRECT = [
    (checks.check_adain, lambda c, s, eps=1e-5: transforms.adain(c, s, eps=eps)),
    (checks.check_adain, adain_mine),
    (checks.check_entropy_change, lambda c, s: transforms.adain_entropy_change(c, s).exact),
    (checks.check_entropy_change, entropy_change_mine),
]

MISTAKES = [
    ("adain no eps", checks.check_adain, lambda c, s, eps=1e-5: _adain(c, s, eps=0.0), "missing eps"),
    (
        "adain batch stats",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, dims=(0, 2, 3)),
        "over the batch",
    ),
    (
        "adain swapped",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="swap"),
        "std and mean swapped",
    ),
    (
        "adain mean only",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="mean"),
        "only the mean matched",
    ),
    (
        "adain normalize only",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, form="norm"),
        "only normalized",
    ),
    (
        "adain unbiased std",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, unbiased=True),
        "unbiased std",
    ),
    (
        "adain eps on std",
        checks.check_adain,
        lambda c, s, eps=1e-5: _adain(c, s, eps, eps_on_std=True),
        "eps added to the std",
    ),
    ("entropy sign", checks.check_entropy_change, lambda c, s: -entropy_change_mine(c, s), "sign flipped"),
    (
        "entropy variance ratio",
        checks.check_entropy_change,
        lambda c, s: torch.log(s.var(-1, unbiased=False) / c.var(-1, unbiased=False)),
        "variance ratio",
    ),
    (
        "entropy no log",
        checks.check_entropy_change,
        lambda c, s: s.std(-1, unbiased=False) / c.std(-1, unbiased=False),
        "without the log",
    ),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)
