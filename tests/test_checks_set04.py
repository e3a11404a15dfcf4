"""Checks of set 04 (receptive fields, effective texture scale): each passes nstlab's reference and a correct
implementation written differently, names every typical mistake (written here by hand), and the checks'
own receptive-field recurrence agrees with nstlab.receptive and with the published VGG16 values."""

from __future__ import annotations

import numpy as np
from check_harness import check_tests

from nstlab import checks, receptive


def receptive_fields_loop(layers):
    sizes, jumps, r, j = [], [], 1, 1
    for k, s in layers:
        r += (k - 1) * j
        j *= s
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


def effective_scale_numpy(weights, sizes):
    a = np.array(list(weights.values()))
    r = np.array([sizes[n] for n in weights])
    return float(np.average(r, weights=a))


def scale_ratio_mine(style, content, sizes):
    return effective_scale_numpy(style, sizes) / effective_scale_numpy(content, sizes)


def _rf(layers, r0=1, jump=lambda j, s: j * s, size=lambda r, j, k, s: r + (k - 1) * j, jump_first=False):
    sizes, jumps, r, j = [], [], r0, 1
    for k, s in layers:
        if jump_first:
            j = jump(j, s)
        r = size(r, j, k, s)
        if not jump_first:
            j = jump(j, s)
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


CORRECT = [
    (checks.check_receptive_fields, receptive_fields_loop),
    (checks.check_effective_scale, lambda w, r: receptive.effective_scale(w, "vgg16")),
    (checks.check_effective_scale, effective_scale_numpy),
    (checks.check_scale_ratio, lambda s, c, r: receptive.scale_ratio(s, c, "vgg16")),
    (checks.check_scale_ratio, scale_ratio_mine),
]

MISTAKES = [
    (
        "rf jump = stride",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump=lambda j, s: s),
        "jump not accum",
    ),
    (
        "rf jump never updated",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump=lambda j, s: 1),
        "jump not",
    ),
    (
        "rf stride on size",
        checks.check_receptive_fields,
        lambda L: _rf(L, size=lambda r, j, k, s: (r + (k - 1) * j) * s),
        "stride applied to the size",
    ),
    ("rf r0 = 0", checks.check_receptive_fields, lambda L: _rf(L, r0=0), "off by one at the first layer"),
    (
        "rf r + k j",
        checks.check_receptive_fields,
        lambda L: _rf(L, size=lambda r, j, k, s: r + k * j),
        "off by one at the first layer",
    ),
    (
        "rf jump first",
        checks.check_receptive_fields,
        lambda L: _rf(L, jump_first=True),
        "jump updated before",
    ),
    (
        "S_eff no normalization",
        checks.check_effective_scale,
        lambda w, r: sum(a * r[n] for n, a in w.items()),
        "not divided by the sum of the weights",
    ),
    (
        "S_eff unweighted",
        checks.check_effective_scale,
        lambda w, r: float(np.mean([r[n] for n in w])),
        "unweighted mean",
    ),
    ("R inverted", checks.check_scale_ratio, lambda s, c, r: 1 / scale_ratio_mine(s, c, r), "inverted"),
]


test_check_passes_on_a_correct_implementation, test_check_names_the_mistake = check_tests(CORRECT, MISTAKES)


def vgg16_kernel_stride():
    """VGG16 (Simonyan & Zisserman 2015, configuration D) written out: blocks of 2, 2, 3, 3, 3 convolutions
    3x3 stride 1, each followed by a ReLU (1x1), and a 2x2 stride-2 max pooling after every block."""
    layers = []
    for n_convs in (2, 2, 3, 3, 3):
        layers += [(3, 1), (1, 1)] * n_convs + [(2, 2)]
    return layers


def test_reference_recurrence_agrees_with_the_library_on_vgg16():
    """checks.receptive_field_reference re-implements the recurrence (to make the mistake variants); on
    VGG16 it gives nstlab.receptive's size and jump for every layer, in order."""
    table = receptive.receptive_fields("vgg16")
    sizes, jumps = checks.receptive_field_reference(vgg16_kernel_stride())
    assert sizes == [rf.size for rf in table.values()]
    assert jumps == [rf.jump for rf in table.values()]


def test_reference_recurrence_gives_the_published_vgg16_values():
    """VGG16's last layer sees 212 px with a jump of 32 (Araujo, Norris & Sim 2019, Table 1); by hand,
    r = 1 + 2 j summed over the convolutions and + j per pooling gives 3, 10, 24, 60, 132 px for
    relu1_1 .. relu5_1."""
    names = list(receptive.receptive_fields("vgg16"))
    sizes, jumps = checks.receptive_field_reference(vgg16_kernel_stride())
    size = dict(zip(names, sizes, strict=True))
    assert [size[f"relu{b}_1"] for b in range(1, 6)] == [3, 10, 24, 60, 132]
    assert (sizes[-1], jumps[-1]) == (212, 32) and names[-1] == "pool5"
