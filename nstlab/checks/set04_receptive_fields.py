"""Checks of exercise set 04: receptive fields and the effective texture scale.

r_l = r_{l-1} + (k_l - 1) j_{l-1}, j_l = j_{l-1} s_l from r_0 = j_0 = 1 (Araujo, Norris & Sim 2019,
Distill); S_eff = sum_l a_l r_l / sum_l a_l and R = S_eff / C_eff (:mod:`nstlab.receptive`).

:func:`receptive_field_reference` re-implements the recurrence on purpose: its knobs make the wrong
variants a student writes (jump not accumulated, off by one, ...). A test ties it to
:func:`nstlab.receptive.receptive_fields` on VGG16.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from .. import receptive
from ._core import Args, verdict

Layers = Sequence[tuple[int, int]]
"""(kernel size, stride) of every layer, input side first."""


def _recurrence(
    layers: Layers,
    r0: int = 1,
    size_step: Callable[[int, int, int, int], int] = lambda r, j, k, s: r + (k - 1) * j,
    jump_step: Callable[[int, int], int] = lambda j, s: j * s,
    jump_first: bool = False,
) -> tuple[list[int], list[int]]:
    """The size/jump recurrence with replaceable steps (the right ones by default)."""
    r, j, sizes, jumps = r0, 1, [], []
    for k, s in layers:
        if jump_first:
            j = jump_step(j, s)
        r = size_step(r, j, k, s)
        if not jump_first:
            j = jump_step(j, s)
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


def receptive_field_reference(layers: Layers) -> tuple[list[int], list[int]]:
    """Sizes r_l = r_{l-1} + (k_l - 1) j_{l-1} and jumps j_l = j_{l-1} s_l, from r_0 = j_0 = 1."""
    return _recurrence(layers)


def _with_jumps(wrong: Callable[..., tuple[list[int], list[int]]], **kw: Any) -> list[Callable[..., Any]]:
    """A size mistake with the jumps it computes and with correct jumps (the student may return either)."""
    return [
        lambda layers: wrong(layers, **kw),
        lambda layers: (wrong(layers, **kw)[0], _recurrence(layers)[1]),
    ]


def _receptive_field_mistakes() -> dict[str, list[Callable[..., Any]]]:
    rec = _recurrence
    return {
        "jump not accumulated: j_l = j_{l-1} * s_l, the product of all strides so far": [
            *_with_jumps(rec, jump_step=lambda j, s: s),
            *_with_jumps(rec, size_step=lambda r, j, k, s: r + (k - 1) * s, jump_step=lambda j, s: s),
            *_with_jumps(rec, jump_step=lambda j, s: 1),
        ],
        "stride applied to the size instead of the jump: r_l = r_{l-1} + (k_l - 1) j_{l-1}, then "
        "j_l = j_{l-1} s_l": [
            *_with_jumps(rec, size_step=lambda r, j, k, s: (r + (k - 1) * j) * s),
            *_with_jumps(rec, size_step=lambda r, j, k, s: r * s + (k - 1) * j),
            *_with_jumps(rec, size_step=lambda r, j, k, s: r * s + (k - 1), jump_step=lambda j, s: 1),
        ],
        "off by one at the first layer: start from r_0 = 1 (one input pixel sees itself) and j_0 = 1": [
            *_with_jumps(rec, r0=0),
            *_with_jumps(rec, size_step=lambda r, j, k, s: r + k * j),
        ],
        "jump updated before the size: r_l uses j_{l-1}, the jump of the layer below": _with_jumps(
            rec, jump_first=True
        ),
    }


def check_receptive_fields(student_fn: Callable[..., Any]) -> bool:
    """``receptive_fields(layers)``: (sizes, jumps) per layer for a list of (kernel, stride) pairs."""
    rng = random.Random(108)
    vgg_like = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1), (2, 2)]
    cases: list[Args] = [(vgg_like,)]
    for length in (6, 9):
        rest = [(rng.choice([1, 3, 5]), rng.choice([1, 2])) for _ in range(length)]
        layers = [(rng.choice([3, 5, 7]), 2), *rest]
        cases.append((layers,))
    mistakes = _receptive_field_mistakes()
    return verdict("receptive_fields", student_fn, receptive_field_reference, cases, mistakes)


def _vgg16_sizes() -> dict[str, int]:
    return {name: rf.size for name, rf in receptive.receptive_fields("vgg16").items()}


def _layer_cases(seed: int, n_cases: int = 3) -> list[dict[str, float]]:
    """Random layer weights {relu name: a_l} over 2-5 ReLU layers of VGG16."""
    rng = random.Random(seed)
    names = [n for n in _vgg16_sizes() if n.startswith("relu")]
    return [
        {n: round(rng.uniform(0.2, 3.0), 2) for n in rng.sample(names, rng.randint(2, 5))}
        for _ in range(n_cases)
    ]


def _weighted_sum(w: dict[str, float], r: dict[str, int]) -> float:
    return sum(a * r[n] for n, a in w.items())


def check_effective_scale(student_fn: Callable[..., Any]) -> bool:
    """``effective_scale(weights, sizes)``: S_eff = sum_l a_l r_l / sum_l a_l over the given layers."""
    sizes = _vgg16_sizes()
    cases = [(w, dict(sizes)) for w in _layer_cases(109)]
    mistakes = {
        "not divided by the sum of the weights: S_eff = sum a_l r_l / sum a_l": _weighted_sum,
        "unweighted mean of r_l: each layer counts with its weight a_l": (
            lambda w, r: sum(r[n] for n in w) / len(w)
        ),
        "divided by the number of layers instead of the sum of the weights": (
            lambda w, r: _weighted_sum(w, r) / len(w)
        ),
    }
    reference = lambda w, r: receptive.effective_scale(w, "vgg16")  # noqa: E731
    return verdict("effective_scale", student_fn, reference, cases, mistakes)


def check_scale_ratio(student_fn: Callable[..., Any]) -> bool:
    """``scale_ratio(style_weights, content_weights, sizes)``: R = S_eff / C_eff."""
    sizes = _vgg16_sizes()
    style, content = _layer_cases(110), _layer_cases(111)
    cases = [(s, c, dict(sizes)) for s, c in zip(style, content, strict=True)]

    def ratio(s: dict[str, float], c: dict[str, float], r: dict[str, int]) -> float:
        return receptive.scale_ratio(s, c, "vgg16")

    mistakes = {
        "inverted: R = S_eff / C_eff (style scale over content scale)": lambda s, c, r: 1 / ratio(s, c, r),
        "difference instead of ratio: R = S_eff / C_eff": (
            lambda s, c, r: receptive.effective_scale(s, "vgg16") - receptive.effective_scale(c, "vgg16")
        ),
    }
    return verdict("scale_ratio", student_fn, ratio, cases, mistakes)
