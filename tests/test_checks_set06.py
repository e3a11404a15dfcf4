"""Checks of set 06 (instance norm versus batch norm): each passes nstlab's reference and a correct
implementation in numpy, and names every listed mistake made by a deliberately wrong implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from check_harness import run

from nstlab import checks, transforms


def _np(x):
    return x.detach().double().numpy()


def _like(a, ref):
    return torch.from_numpy(np.ascontiguousarray(a)).to(ref.dtype)


def norm_np(F, eps, axes, ddof=0, outside=False):
    x = _np(F)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    return _like((x - mu) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps)), F)


IN, BN = (2, 3), (0, 2, 3)


@pytest.mark.parametrize(
    ("check", "reference", "correct", "wrong"),
    [
        (
            checks.check_instance_norm,
            transforms.instance_norm,
            lambda F, eps: norm_np(F, eps, IN),
            {
                "batch norm": lambda F, eps: norm_np(F, eps, BN),
                "missing eps": lambda F, eps: norm_np(F, 0.0, IN),
                "unbiased variance": lambda F, eps: norm_np(F, eps, IN, ddof=1),
                "outside the square root": lambda F, eps: norm_np(F, eps, IN, outside=True),
                "layer norm": lambda F, eps: norm_np(F, eps, (1, 2, 3)),
            },
        ),
        (
            checks.check_batch_norm,
            transforms.batch_norm,
            lambda F, eps: norm_np(F, eps, BN),
            {
                "instance norm": lambda F, eps: norm_np(F, eps, IN),
                "missing eps": lambda F, eps: norm_np(F, 0.0, BN),
                "unbiased variance": lambda F, eps: norm_np(F, eps, BN, ddof=1),
                "batch axis only": lambda F, eps: norm_np(F, eps, (0,)),
            },
        ),
    ],
)
def test_norm_checks(check, reference, correct, wrong, capsys):
    assert run(check, reference, capsys)[0]
    assert run(check, correct, capsys)[0]
    for name, fn in wrong.items():
        ok, out = run(check, fn, capsys)
        assert not ok and name in out, (name, out)
