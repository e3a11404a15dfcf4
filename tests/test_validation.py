"""Every bad input to the public API is a clear error.

A property test with hypothesis: random shapes (ranks 0-5, empty axes), dtypes (float16/32/64, integers,
bool, complex), NaN and inf, and things that are not tensors at all go into the validators of ``stats``,
``transforms``, ``losses``, ``images``, ``optimize`` and ``Backbone.features``. Each call must either work
or raise a ValueError or TypeError that nstlab raises itself (an explicit ``raise`` in nstlab with a
message), never an error from inside torch, numpy or Python (a RuntimeError about shapes, an IndexError, a
TypeError from an operator).
"""

from __future__ import annotations

import math
import os
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seeded import tensor_functions

from nstlab import backbones, images, losses, optimize, stats

NSTLAB = str(Path(optimize.__file__).parent)
SETTINGS = settings(
    max_examples=int(os.environ.get("NSTLAB_HYPOTHESIS_EXAMPLES", 40)),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
DTYPES = [torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8, torch.bool, torch.complex64]


def raised_by_nstlab(e: BaseException) -> bool:
    """The innermost frame is a ``raise`` statement in nstlab's own code."""
    frame = traceback.extract_tb(e.__traceback__)[-1]
    return frame.filename.startswith(NSTLAB) and (frame.line or "").lstrip().startswith("raise")


def works_or_says_why(fn, *args, allowed=(ValueError, TypeError), **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except allowed as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        assert raised_by_nstlab(e), f"raw {type(e).__name__} from {frame.filename}:{frame.lineno}: {e}"
        assert len(str(e)) > 10, f"{type(e).__name__} without a message: {e!r}"


# ----------------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------------


@st.composite
def shapes(draw, rank: int | None = None, channels: int | None = None) -> tuple[int, ...]:
    """Mostly the ranks the API takes (2: (C, N), 4: (B, C, H, W)), sometimes any rank, sometimes an empty
    axis; ``channels`` fixes C when given (a partner of a valid input)."""
    if rank is None:
        rank = draw(st.sampled_from([2, 2, 4, 4, 4, 0, 1, 3, 5]))
    dims = [draw(st.integers(1, 5)) if draw(st.integers(0, 9)) else 0 for _ in range(rank)]
    if channels is not None and rank in (2, 4):
        dims[0 if rank == 2 else 1] = channels
    return tuple(dims)


@st.composite
def tensors(draw, shape=None, dtype=None, unit: bool = False) -> torch.Tensor:
    """A tensor of a drawn (or given) shape and dtype; finite values mostly, sometimes NaN, inf or both.
    ``unit`` draws values in [0, 1] (images) before any NaN/inf."""
    shape = draw(shapes()) if shape is None else shape
    dtype = dtype or draw(st.sampled_from([torch.float32, torch.float32, torch.float64, *DTYPES]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = (
        torch.rand(shape, generator=g, dtype=torch.float64)
        if unit
        else torch.randn(shape, generator=g, dtype=torch.float64)
    )
    bad = draw(st.sampled_from([None, None, None, math.nan, math.inf, -math.inf]))
    if bad is not None and x.numel():
        x.view(-1)[draw(st.integers(0, x.numel() - 1))] = bad
    if dtype.is_complex or dtype.is_floating_point:
        return x.to(dtype)
    return torch.nan_to_num(x * 10).to(dtype)


NOT_TENSORS = st.sampled_from([None, 1.0, "F", [[1.0, 2.0]], np.ones((2, 3))])
anything = st.one_of(tensors(), tensors(), tensors(), NOT_TENSORS)


@st.composite
def pairs(draw):
    """(X, Y): Y mostly shares X's channel count so that some calls are valid."""
    X = draw(st.one_of(tensors(), tensors(), NOT_TENSORS))
    same_c = isinstance(X, torch.Tensor) and X.ndim in (2, 4) and draw(st.booleans())
    if same_c:
        C = X.shape[0 if X.ndim == 2 else 1]
        return X, draw(tensors(shape=draw(shapes(channels=C)), dtype=X.dtype))
    return X, draw(anything)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 300), st.sampled_from([None, "1", True])
)

# ----------------------------------------------------------------------------------------------------
# stats, transforms, losses: tensors in, tensors out
# ----------------------------------------------------------------------------------------------------


ONE_ARG = tensor_functions(1)
TWO_ARGS = tensor_functions(2)


def test_the_fuzzed_lists_hold_the_feature_functions():
    assert {"stats.gram", "transforms.whiten", "losses.total_variation"} <= set(ONE_ARG)
    assert {"stats.mmd2", "transforms.wct", "losses.exact_w2"} <= set(TWO_ARGS)


@pytest.mark.parametrize("name", list(ONE_ARG))
@SETTINGS
@given(data=st.data())
def test_one_tensor_functions_work_or_say_why(name, data):
    works_or_says_why(ONE_ARG[name], data.draw(anything))


@pytest.mark.parametrize("name", list(TWO_ARGS))
@SETTINGS
@given(data=st.data())
def test_two_sample_functions_work_or_say_why(name, data):
    X, Y = data.draw(pairs())
    works_or_says_why(TWO_ARGS[name], X, Y)


@pytest.mark.parametrize(
    "name",
    ["stats.shrink", "stats.block_diag_gram", "stats.gaussian_entropy", "losses.gram_loss"],
)
@SETTINGS
@given(data=st.data())
def test_functions_with_a_number_work_or_say_why(name, data):
    x, number = data.draw(anything), data.draw(numbers)
    if name == "stats.shrink":
        works_or_says_why(stats.shrink, x, number)
    elif name == "stats.block_diag_gram":
        works_or_says_why(stats.block_diag_gram, x, number)
    elif name == "stats.gaussian_entropy":
        works_or_says_why(stats.gaussian_entropy, data.draw(st.one_of(anything, numbers)))
    else:
        works_or_says_why(losses.gram_loss, x, data.draw(anything))


# ----------------------------------------------------------------------------------------------------
# images, optimize, backbones
# ----------------------------------------------------------------------------------------------------


@st.composite
def images_or_not(draw):
    shape = draw(st.one_of(st.just((1, 3, draw(st.integers(0, 12)), draw(st.integers(0, 12)))), shapes()))
    return draw(st.one_of(tensors(shape=shape, unit=True), tensors(shape=shape), NOT_TENSORS))


@SETTINGS
@given(img=images_or_not(), size=numbers)
def test_image_functions_work_or_say_why(img, size):
    works_or_says_why(images.check_image, img)
    size_or_none = size if size is None or isinstance(size, int) else None
    # a string is a path: a missing file is a FileNotFoundError (with the samples listed)
    works_or_says_why(images.load, img, size=size_or_none, allowed=(ValueError, TypeError, FileNotFoundError))
    works_or_says_why(images.resize, img if isinstance(img, torch.Tensor) else torch.rand(1, 3, 4, 4), size)
    works_or_says_why(images.limit_size, torch.rand(1, 3, 4, 4), size)
    if isinstance(img, torch.Tensor):
        works_or_says_why(images.to_tensor, img.numpy() if not img.dtype.is_complex else img)


@SETTINGS
@given(value=numbers, steps=numbers, name=st.sampled_from(["lbfgs", "adam", "sgd", None]))
def test_optimize_validators_work_or_say_why(value, steps, name):
    works_or_says_why(optimize.check_weight, value, "style_weight")
    works_or_says_why(optimize.check_steps, steps)
    works_or_says_why(optimize.check_optimizer, name, value)
    works_or_says_why(optimize.Settings, style_weight=value, steps=steps, optimizer=name or "lbfgs")
    works_or_says_why(optimize.Settings, lr=value, callback_every=steps, seed=steps)


@pytest.fixture(scope="module")
def random_vgg():
    return backbones.load_backbone("random-vgg16", device="cpu")


@SETTINGS
@given(img=images_or_not(), layers=st.sampled_from([["relu1_1"], ["relu2_1"], [], ["relu9_1"], "relu1_1"]))
def test_backbone_features_work_or_say_why(random_vgg, img, layers):
    works_or_says_why(random_vgg.features, img, layers)


@SETTINGS
@given(img=images_or_not(), weight=numbers)
def test_objective_works_or_says_why(random_vgg, img, weight):
    works_or_says_why(
        optimize.Objective, random_vgg, content=img, style_weight=weight, content_layers=["relu1_1"]
    )
    works_or_says_why(
        optimize.Objective, random_vgg, style=img, style_weight=weight, style_layers=["relu1_1"]
    )
