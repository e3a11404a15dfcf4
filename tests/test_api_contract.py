"""Every public callable of nstlab checks its arguments and names the one that is wrong.

The walk starts from the modules' ``__all__`` (found with pkgutil, not listed here), so a new function,
method or module is covered as soon as it is public. For each parameter with a type hint, values that
the hint rules out are generated from the hint alone (None, an object of no known kind, a tensor with NaN,
an integer tensor, an image without its batch axis or with 0-255 values, 2.5 for an int, an out-of-range
number, an empty list of tensors, an unknown choice); the call must raise a ValueError or TypeError whose
message names that parameter. The other parameters get valid example values made from their hints.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
import pytest
import torch
from torch import Tensor

import nstlab
from nstlab import backbones, validation, video

# The student checkers report a mistake instead of raising one (they never stop a notebook), and the
# package's private helpers are not entry points.
NOT_ENTRY_POINTS = {"checks"}


def public_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(nstlab.__path__)]
    return [n for n in names if not n.startswith("_") and n not in NOT_ENTRY_POINTS and n != "validation"]


def is_result_type(cls: type) -> bool:
    """What functions return and users never build: NamedTuples and classes marked ``output_type``."""
    return (issubclass(cls, tuple) and hasattr(cls, "_fields")) or getattr(cls, "__nstlab_output__", False)


def entry_points() -> Iterator[tuple[str, Callable[..., Any], Any]]:
    """(name, callable, owner): module functions, public methods and ``__init__`` of public classes, and
    public dataclasses (their fields are the parameters)."""
    for mod_name in public_modules():
        mod = importlib.import_module(f"nstlab.{mod_name}")
        assert hasattr(mod, "__all__"), f"nstlab.{mod_name} has no __all__: list its public names"
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                if is_result_type(obj):
                    continue
                if dataclasses.is_dataclass(obj):
                    yield f"{mod_name}.{name}", obj, None
                for attr, member in vars(obj).items():
                    own = inspect.isfunction(member) and member.__module__.startswith("nstlab")
                    if own and (attr == "__init__" or not attr.startswith("_")):
                        if dataclasses.is_dataclass(obj) and attr == "__init__":
                            continue
                        yield f"{mod_name}.{name}.{attr}", member, obj
            elif callable(obj):
                yield f"{mod_name}.{name}", obj, None


ENTRY_POINTS = sorted(entry_points(), key=lambda e: e[0])


def test_the_walk_finds_the_whole_api():
    names = {n for n, *_ in ENTRY_POINTS}
    # a few from each corner, so that an empty or broken walk fails
    for expected in (
        "optimize.stylize",
        "optimize.Settings",
        "decoders.stylize_fast",
        "widgets.AdaINDemo.update",
        "figures.nst_pipeline",
        "backbones.Backbone.features",
        "cli.main",
        "stats.gram",
    ):
        assert expected in names
    assert len(names) > 250


@pytest.mark.parametrize("name", [n for n, fn, owner in ENTRY_POINTS if not inspect.isclass(fn)])
def test_every_public_function_is_checked(name):
    fn = dict((n, f) for n, f, _ in ENTRY_POINTS)[name]
    assert getattr(fn, "__validated__", False), f"{name} is public but not wrapped by validation.checked"


@pytest.mark.parametrize("name", [n for n, fn, _ in ENTRY_POINTS if inspect.isclass(fn)])
def test_every_public_dataclass_checks_its_fields(name):
    cls = dict((n, f) for n, f, _ in ENTRY_POINTS)[name]
    post = getattr(cls, "__post_init__", None)
    assert post is not None and "check_fields" in inspect.getsource(post), (
        f"{name}.__post_init__ must call validation.check_fields(self)"
    )


# ----------------------------------------------------------------------------------------------------
# Values made from type hints
# ----------------------------------------------------------------------------------------------------


class Junk:
    """An object of no kind any hint asks for."""

    def __repr__(self) -> str:
        return "Junk()"


def strip(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """(base hint, Annotated metadata)."""
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        return base, tuple(extras)
    return hint, ()


def members(hint: Any) -> list[Any]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        return list(get_args(hint))
    return [hint]


def constrains_nothing(hint: Any) -> bool:
    return any(strip(m)[0] in (Any, object, inspect.Parameter.empty) for m in members(hint))


_RANDOM_VGG: list[backbones.Backbone] = []


def random_vgg() -> backbones.Backbone:
    if not _RANDOM_VGG:
        _RANDOM_VGG.append(backbones.load_backbone("random-vgg16", device="cpu"))
    return _RANDOM_VGG[0]


def example(hint: Any, tmp: Path) -> Any:
    """A value that satisfies ``hint`` (the first member of a union that is not None)."""
    options = [m for m in members(hint) if m is not type(None)]
    base, extras = strip(options[0])
    if base in (Any, object, inspect.Parameter.empty):
        return 1
    origin, args = get_origin(base), get_args(base)
    if base is Tensor:
        return torch.rand(1, 3, 16, 16)
    if base is bool:
        return True
    if base is int:
        return 1
    if base is float:
        return 0.5
    if base is str:
        return "relu1_1"
    if origin is Literal:
        return args[0]
    if origin is tuple:
        items = args if args and args[-1] is not Ellipsis else args[:1]
        return tuple(example(a, tmp) for a in items)
    if origin in (list, Sequence) or getattr(origin, "__name__", "") in ("Sequence", "Iterable"):
        return [example(args[0], tmp)] if args else []
    if origin in (dict, Mapping) or getattr(origin, "__name__", "") == "Mapping":
        return {}
    if getattr(origin, "__name__", "") == "Callable":
        return lambda *a, **k: None
    if base is Path:
        return tmp / "example.png"
    factories = {
        backbones.Backbone: random_vgg,
        np.ndarray: lambda: np.zeros((8, 8, 3)),
        torch.Generator: torch.Generator,
        torch.dtype: lambda: torch.float32,
        torch.device: lambda: torch.device("cpu"),
        torch.optim.Optimizer: lambda: torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
        video.Motion: lambda: video.Motion(torch.zeros(1, 2, 16, 16), torch.ones(1, 1, 16, 16)),
    }
    for cls, make in factories.items():
        if isinstance(base, type) and issubclass(cls, base):
            return make()
    if isinstance(base, type) and (dataclasses.is_dataclass(base) or hasattr(base, "_fields")):
        return build(base, tmp)
    if isinstance(base, type):
        try:
            return base()
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"no example value for {base}: add a factory to tests/test_api_contract.py ({e})")
    return None


def build(cls: type, tmp: Path) -> Any:
    """An instance of a dataclass or NamedTuple from example values of its required fields."""
    hints = validation.type_hints_of_class(cls)
    if dataclasses.is_dataclass(cls):
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
    else:
        required = [f for f in cls._fields if f not in cls._field_defaults]
    return cls(**{name: example(hints.get(name, Any), tmp) for name in required})


def bad_values(hint: Any) -> list[tuple[str, Any]]:
    """Values the hint rules out, with a label; member-specific ones only for a single kind (or Optional)."""
    opts = members(hint)
    bad: list[tuple[str, Any]] = [("an object of no known kind", Junk())]
    if type(None) not in opts:
        bad.append(("None", None))
    kinds = [m for m in opts if m is not type(None)]
    if len(kinds) != 1:
        return bad
    base, extras = strip(kinds[0])
    spec = next((e for e in extras if isinstance(e, validation.TensorSpec)), validation.TensorSpec())
    ranges = [e for e in extras if isinstance(e, validation.Range)]
    origin, args = get_origin(base), get_args(base)
    if base is Tensor:
        shape = (1, 3, 8, 8)
        if spec.finite:
            nan = torch.rand(shape)
            nan[0, 0, 0, 0] = math.nan
            bad.append(("a tensor with NaN", nan))
        if spec.floating:
            bad.append(("an integer tensor", torch.ones(shape, dtype=torch.int64)))
        bad.append(("a nested list", [[0.5, 0.5]]))
        if spec.image:
            bad += [
                ("an image without its batch axis", torch.rand(3, 8, 8)),
                ("a 0-255 image", torch.rand(shape) * 255),
                ("a grayscale image", torch.rand(1, 1, 8, 8)),
                ("an RGBA image", torch.rand(1, 4, 8, 8)),
            ]
    elif base is int:
        bad += [("2.5", 2.5), ("the string '3'", "3"), ("True", True)]
    elif base is float:
        bad += [("NaN", math.nan), ("inf", math.inf), ("the string '1'", "1")]
    elif origin is Literal:
        bad.append(("an unknown choice", "no-such-choice"))
    elif origin in (list, Sequence) and args and strip(args[0])[0] is Tensor:
        bad += [("an empty list", []), ("a list holding None", [None])]
    for r in ranges:
        if r.low is not None:
            bad.append((f"{r.low - 1:g} (below the range)", r.low - 1 if base is float else int(r.low) - 1))
        if r.high is not None:
            bad.append((f"{r.high + 1:g} (above the range)", r.high + 1))
    return bad


def parameters(fn: Callable[..., Any], owner: Any) -> list[tuple[str, Any, bool]]:
    """(name, hint, required) of a callable, or of a dataclass's fields."""
    if inspect.isclass(fn):
        hints = validation.type_hints_of_class(fn)
        return [
            (
                f.name,
                hints.get(f.name, Any),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(fn)
            if f.init
        ]
    hints = validation.type_hints(inspect.unwrap(fn))
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out.append((p.name, hints.get(p.name, Any), p.default is p.empty))
    return out


CASES = [
    (f"{name}({param})", name, param)
    for name, fn, owner in ENTRY_POINTS
    for param, hint, _ in parameters(fn, owner)
    if not constrains_nothing(hint)
]


def call(fn: Callable[..., Any], owner: Any, kwargs: dict[str, Any]) -> Any:
    if inspect.isclass(fn):
        return fn(**kwargs)
    if owner is not None:  # the checks run before the body: any object stands in for self
        return fn(object.__new__(owner) if fn.__name__ != "__init__" else Junk(), **kwargs)
    return fn(**kwargs)


@pytest.mark.parametrize("case,name,param", CASES, ids=[c[0] for c in CASES])
def test_a_bad_argument_is_named(case, name, param, tmp_path):
    fn, owner = next((f, o) for n, f, o in ENTRY_POINTS if n == name)
    params = parameters(fn, owner)
    hint = dict((p, h) for p, h, _ in params)[param]
    base = {p: example(h, tmp_path) for p, h, required in params if required and p != param}
    for label, value in bad_values(hint):
        with pytest.raises((ValueError, TypeError)) as info:
            call(fn, owner, {**base, param: value})
        message = str(info.value)
        assert re.search(rf"(^|\W){re.escape(param)}(\W|$)", message), (
            f"{name}({param}={label}): the error does not name {param!r}: {message}"
        )
