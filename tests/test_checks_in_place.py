"""Every check rejects a function that changes the caller's tensors in place, and says so.

The mutants are written from the tasks' common contract (the caller's inputs are never modified): each
correct implementation of the sets' and chapters' check tests (``CORRECT`` in ``tests/test_checks_*.py``)
is wrapped so that, after computing its right answer, it adds 1 to its first floating tensor argument in
place. A check whose task receives no tensor is not concerned (the wrapper then changes nothing)."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import pytest
import torch

from nstlab import checks, color, losses, transforms

SET_TESTS = sorted(p.stem for p in Path(__file__).parent.glob("test_checks_set[0-9][0-9].py"))
CHAPTER_TESTS = sorted(p.stem for p in Path(__file__).parent.glob("test_checks_chapters_*.py"))
LISTED = [
    pair
    for name in SET_TESTS + CHAPTER_TESTS
    for pair in getattr(importlib.import_module(name), "CORRECT", [])
]
LIBRARY = [  # the sets whose tests list no CORRECT: the library's (or the check's) reference
    (checks.check_wct, lambda c, s, eps: transforms.wct(c, s, eps=eps, rank_tol=0)),
    (checks.check_mean_std_loss, losses.mean_std_loss),
    (checks.check_preprocess, checks.preprocess_reference),
    (checks.check_content_loss, checks.content_loss_reference),
    (checks.check_gram_style_loss, checks.gram_style_loss_reference),
    (checks.check_tv_loss, losses.total_variation),
    (checks.check_adain_layer, lambda c, s, eps: transforms.adain(c, s, eps=eps)),
    (checks.check_luminance, color.luminance),
]
CORRECT = LISTED + LIBRARY


def changes_its_input(fn):
    """``fn`` with the right answer, that then adds 1 in place to its first floating tensor argument."""

    @functools.wraps(fn)
    def mutant(*args, **kwargs):
        result = fn(*args, **kwargs)
        for a in args:
            if isinstance(a, torch.Tensor) and a.is_floating_point():
                with torch.no_grad():
                    a.add_(1.0)
                mutant.changed = True
                break
        return result

    mutant.changed = False
    return mutant


@pytest.mark.parametrize(("check", "fn"), CORRECT, ids=lambda x: getattr(x, "__name__", ""))
def test_a_function_that_changes_its_input_in_place_is_named(check, fn, capsys):
    mutant = changes_its_input(fn)
    ok = check(mutant)
    out = capsys.readouterr().out
    if not mutant.changed:
        pytest.skip("the task's function receives no floating tensor")
    assert ok is False and "in place" in out, out


def test_the_mutants_cover_the_sets():
    assert len(SET_TESTS) >= 13 and len(LISTED) >= 13
