"""One validation layer for every public entry point: arguments are checked against their type hints.

A public function is wrapped by :func:`checked`; before its body runs, every argument the caller passed is
checked against the parameter's annotation, and a mistake raises a TypeError (wrong kind of thing) or a
ValueError (right kind, wrong value) whose message starts with the parameter's name and says how to fix
it. The annotations are the specification, visible in ``help()`` and in an IDE:

- ``Tensor``: a floating-point torch tensor with finite values (NaN or inf is a ValueError); ``AnyTensor``
  also takes integer and bool tensors (counts, masks);
- ``ImageTensor``: a (B, 3, H, W) float image with values in [0, 1] (grayscale, RGBA, a missing batch
  axis and 0-255 values each get their own message);
- ``int``: an integer; numpy integers and whole-number floats (``3.0``) are accepted and passed on as
  ``int``; ``float``: a finite real number (a one-element tensor is accepted and passed on as ``float``);
- ``ImageSide`` (a side in pixels, 1 to ``MAX_SIDE``), ``PositiveInt``, ``NonNegativeInt``,
  ``PositiveFloat``, ``NonNegativeFloat``, ``Fraction`` (in [0, 1]),
  ``Correlation`` (in [-1, 1]): numbers with a range, ``Annotated[..., Range(...)]`` for others;
- ``str``, ``bool``, ``Path`` (a str or os.PathLike), ``Literal[...]`` (one of the listed values),
  ``X | None``, ``Sequence[X]`` (a list or tuple, each element checked; a sequence of tensors must not be
  empty), ``tuple[X, Y]``, ``Mapping[K, V]``, ``Callable`` (anything callable) and classes (isinstance).

Defaults are trusted and not checked again. Dataclasses check their fields with :func:`check_fields` in
``__post_init__``. What a type hint cannot say (two tensors of one shape, a layer the backbone has) the
function's body checks, with the same kind of message.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import math
import numbers
import os
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "trusted",
    "AnyTensor",
    "Correlation",
    "Fraction",
    "ImageSide",
    "ImageTensor",
    "KindError",
    "MAX_SIDE",
    "NonNegativeFloat",
    "NonNegativeInt",
    "PositiveFloat",
    "PositiveInt",
    "Range",
    "TensorSpec",
    "check_choice",
    "check_device",
    "check_fields",
    "check_finite",
    "check_float",
    "check_image_shape",
    "check_int",
    "check_same_shape",
    "check_tensor",
    "check_unit_range",
    "checked",
    "checker",
    "describe",
    "output_type",
    "type_hints",
    "type_hints_of_class",
]

F = TypeVar("F", bound=Callable[..., Any])
Checker = Callable[[Any, str], Any]


# ----------------------------------------------------------------------------------------------------
# Constraints carried by Annotated[...] hints
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A number in [low, high] (``low_open``: low itself excluded); None: no bound on that side."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    meaning: str = ""

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"<= {self.high:g}"

    def check(self, value: float, name: str, kind: str = "number") -> None:
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and value > self.high
        if too_low or too_high or value != value:  # NaN is in no range
            self.fail(value, name, kind)

    def fail(self, value: object, name: str, kind: str = "number") -> None:
        why = f" ({self.meaning})" if self.meaning else ""
        both = self.low is not None and self.high is not None
        what = f"lie {self.describe()}" if both else f"be a {kind} {self.describe()}"
        raise ValueError(f"{name} must {what}{why}, got {value!r}")


@dataclass(frozen=True)
class TensorSpec:
    """A torch tensor: floating (a float dtype), finite (no NaN or inf), image ((B, 3, H, W) in [0, 1])."""

    floating: bool = True
    finite: bool = True
    image: bool = False
    unit: bool = True  # an image's values in [0, 1]


#: The largest image side in pixels: a larger side does not fit in memory (a 16384 px square is 3 GB in
#: float32).
MAX_SIDE = 16384

#: An ``int`` >= 1 (a count, a number of steps).
PositiveInt = Annotated[int, Range(1)]
#: An image side in pixels, 1 to :data:`MAX_SIDE`.
ImageSide = Annotated[int, Range(1, MAX_SIDE, meaning="a side in pixels")]
#: An ``int`` >= 0.
NonNegativeInt = Annotated[int, Range(0)]
#: A finite ``float`` > 0.
PositiveFloat = Annotated[float, Range(0, low_open=True)]
#: A finite ``float`` >= 0 (0 switches the term off).
NonNegativeFloat = Annotated[float, Range(0, meaning="0 switches it off")]
#: A ``float`` in [0, 1].
Fraction = Annotated[float, Range(0, 1)]
#: A ``float`` in [-1, 1].
Correlation = Annotated[float, Range(-1, 1, meaning="a correlation")]
#: A float image batch (B, 3, H, W) with values in [0, 1], finite.
ImageTensor = Annotated[Tensor, TensorSpec(image=True)]
#: Any finite tensor, integer and bool tensors too (counts, masks).
AnyTensor = Annotated[Tensor, TensorSpec(floating=False)]


class KindError(TypeError):
    """The argument is not the kind of thing its hint asks for (a union then tries its next member)."""


# ----------------------------------------------------------------------------------------------------
# The checks, one per kind of hint; each returns the value to pass on (converted for int and float)
# ----------------------------------------------------------------------------------------------------


def describe(value: object) -> str:
    """A short description of a value for an error message: its type, and the value when it is short."""
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    text = repr(value)
    return f"{text} ({type(value).__name__})" if len(text) < 60 else type(value).__name__


def check_tensor(value: object, name: str, spec: TensorSpec = TensorSpec()) -> Tensor:
    """``value`` if it is a tensor as ``spec`` asks; TypeError or ValueError naming ``name`` otherwise."""
    if not isinstance(value, Tensor):
        fix = "nstlab.images.load(...) gives one" if spec.image else "use torch.as_tensor(...)"
        raise KindError(f"{name} must be a torch.Tensor, got {describe(value)}; {fix}")
    if spec.floating and not value.is_floating_point():
        pixels = spec.image or value.dtype == torch.uint8
        fix = "divide 0-255 pixel values by 255" if pixels else "call .float()"
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}; {fix}")
    if spec.image:
        check_image_shape(value, name)
    if spec.finite:
        check_finite(value, name)
    if spec.image and spec.unit:
        check_unit_range(value, name)
    return value


def check_image_shape(img: Tensor, name: str) -> None:
    """(B, 3, H, W) with B, H, W >= 1; the usual mistakes (no batch axis, grayscale, RGBA) named."""
    if img.ndim == 3 and img.shape[0] in (1, 3, 4):
        raise ValueError(f"{name} has shape {tuple(img.shape)}; add the batch axis with {name}[None]")
    if img.ndim != 4:
        raise ValueError(f"{name} must be an image of shape (B, 3, H, W), got shape {tuple(img.shape)}")
    if img.shape[1] == 1:
        raise ValueError(
            f"{name} is grayscale (1 channel, shape {tuple(img.shape)}); use {name}.expand(-1, 3, -1, -1) "
            "or load it with nstlab.images.load, which converts to RGB"
        )
    if img.shape[1] == 4:
        raise ValueError(f"{name} has 4 channels (RGBA?); keep the colour channels with {name}[:, :3]")
    if img.shape[1] != 3:
        raise ValueError(f"{name} must have shape (B, 3, H, W) (3 colour channels), got {tuple(img.shape)}")
    if img.numel() == 0:
        raise ValueError(f"{name} has no pixels (shape {tuple(img.shape)}); an image needs B, H, W >= 1")


_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("nstlab_trusted", default=False)


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Within: the scans of values (:func:`check_finite`, :func:`check_unit_range`) are skipped; types,
    shapes and dtypes are still checked. For the library's inner loops, on tensors it made itself from
    inputs checked once at the entry (a cascade of feed-forward passes), where the same scans would
    otherwise run on every intermediate feature map."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def check_unit_range(img: Tensor, name: str) -> None:
    """Values in [0, 1]; 0-255 values and normalized (negative) values each get their fix."""
    if _TRUSTED.get():
        return
    lo, hi = (float(v) for v in torch.aminmax(img.detach()))
    if lo >= 0 and hi <= 1:
        return
    fix = "divide 0-255 pixel values by 255" + ("" if hi > 1 and lo >= 0 else ", or clamp with .clamp(0, 1)")
    raise ValueError(f"{name} must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]; {fix}")


def check_finite(x: Tensor, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or inf (on a detached view, no graph). One reduction, min and max,
    which NaN and inf both reach, decides; only a bad tensor is scanned again to count."""
    x = x.detach()
    if _TRUSTED.get() or x.numel() == 0 or x.dtype == torch.bool:
        return
    if not (x.is_floating_point() or x.is_complex()):
        return
    lo, hi = torch.aminmax(x.abs() if x.is_complex() else x)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = ~torch.isfinite(x)
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or inf value(s); check where it came from (a diverged "
            "optimization or a division by zero produces NaN)"
        )


def check_int(value: object, name: str) -> int:
    """An int: numpy integers, whole-number floats and one-element integer tensors are accepted."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise KindError(f"{name} must be an integer, got {describe(value)}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not math.isfinite(value) or not float(value).is_integer() or abs(value) > 2**53:
        raise ValueError(f"{name} must be a whole number, got {value!r}; round it with int(...)")
    return int(value)


def check_float(value: object, name: str) -> float:
    """A finite real number as a float: Python and numpy numbers and one-element real tensors."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise KindError(f"{name} must be a real number, got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_same_shape(x: Tensor, y: Tensor, names: tuple[str, str]) -> None:
    """Raise ValueError unless two tensors have one shape, naming both."""
    if x.shape != y.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def check_device(device: object, name: str = "device") -> torch.device:
    """``device`` as a torch.device; ValueError naming ``name`` for a string torch does not know."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{name}={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1' or 'mps'"
        ) from None


def check_choice(value: object, choices: Sequence[Any], name: str) -> Any:
    """``value`` if it is one of ``choices``; a ValueError listing them otherwise."""
    if not isinstance(value, str | int | float | type(None)) or value not in choices:
        raise ValueError(f"unknown {name}={value!r}; choose one of {', '.join(map(repr, choices))}")
    return value


def _instance(cls: type) -> Checker:
    label = "a str or path" if cls is Path else f"a {cls.__module__.split('.')[0]}.{cls.__qualname__}"

    def check(value: Any, name: str) -> Any:
        ok = isinstance(value, str | os.PathLike) if cls is Path else isinstance(value, cls)
        if cls in (str, bool) and isinstance(value, np.str_ | np.bool_):
            return cls(value)
        if not ok or (cls is not bool and isinstance(value, bool) and cls in (int, float)):
            raise KindError(f"{name} must be {label}, got {describe(value)}")
        return value

    return check


# ----------------------------------------------------------------------------------------------------
# From a type hint to a checker
# ----------------------------------------------------------------------------------------------------

_UNION_TYPES = (typing.Union, types.UnionType)


def checker(hint: Any) -> Checker | None:
    """The checker of a type hint; None for hints that constrain nothing (Any, unannotated, TypeVar)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint in (Any, inspect.Parameter.empty, object) or isinstance(hint, TypeVar | str):
        return None
    if origin is Annotated:
        return _annotated(args[0], args[1:])
    if origin in _UNION_TYPES:
        return _union(args)
    if origin is Literal:
        return lambda value, name: check_choice(value, args, name)
    if hint is type(None):
        return _none
    if hint is Tensor:
        return check_tensor
    if hint is int:
        return check_int
    if hint is float:
        return check_float
    if origin is not None:
        return _generic(origin, args)
    if isinstance(hint, type):
        return _instance(hint)
    return None


def _none(value: Any, name: str) -> None:
    if value is not None:
        raise KindError(f"{name} must be None, got {describe(value)}")


def _annotated(base: Any, extras: tuple[Any, ...]) -> Checker:
    spec = next((e for e in extras if isinstance(e, TensorSpec)), None)
    ranges = [e for e in extras if isinstance(e, Range)]
    inner = (lambda v, n: check_tensor(v, n, spec)) if spec is not None else checker(base)

    kind = "whole number" if base is int else "finite number"

    def check(value: Any, name: str) -> Any:
        try:
            value = inner(value, name) if inner else value
        except ValueError:  # NaN, inf, 2.5 for an int: say the range the number must lie in
            if not ranges:
                raise
            ranges[0].fail(value, name, kind)
        for r in ranges:
            r.check(value, name, kind)
        return value

    return check


def _union(members: tuple[Any, ...]) -> Checker:
    checks = [c for c in map(checker, members) if c is not None]
    if len(checks) < len(members):  # a member that accepts anything
        return lambda value, name: value
    labels = " or ".join(_label(m) for m in members)

    def check(value: Any, name: str) -> Any:
        mismatch: Exception | None = None
        for c in checks:
            try:
                return c(value, name)
            except KindError:
                continue
            except ValueError as e:  # the right kind of thing with a wrong value: say that
                mismatch = mismatch or e
        if mismatch is not None:
            raise mismatch
        raise KindError(f"{name} must be {labels}; got {describe(value)}")

    return check


def _label(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if get_origin(hint) is Annotated:
        return _label(get_args(hint)[0])
    name = getattr(get_origin(hint) or hint, "__name__", str(hint))
    known = {"Tensor": "a torch.Tensor", "Sequence": "a list", "Mapping": "a dict", "ndarray": "an array"}
    return known.get(name, f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}")


def _generic(origin: Any, args: tuple[Any, ...]) -> Checker:
    if origin in (list, tuple, Sequence, typing.Sequence) or origin.__name__ in ("Sequence", "Iterable"):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return _fixed_tuple(args)
        return _sequence(args[0] if args else Any, iterable=origin.__name__ == "Iterable")
    if origin in (dict, Mapping) or origin.__name__ == "Mapping":
        return _mapping(*(args or (Any, Any)))
    if origin.__name__ == "Callable":
        return _callable
    return _instance(origin) if isinstance(origin, type) else (lambda value, name: value)


def _callable(value: Any, name: str) -> Any:
    if not callable(value):
        raise KindError(f"{name} must be callable (a function), got {describe(value)}")
    return value


def _sequence(item: Any, iterable: bool = False) -> Checker:
    check_item = checker(item)
    of_tensors = any(_strip(m) is Tensor for m in _members(item))  # images, feature maps: at least one

    def check(value: Any, name: str) -> Any:
        if iterable and not isinstance(value, str | bytes) and isinstance(value, Iterable):
            if not isinstance(value, list | tuple):
                return value  # a dict's keys, a set, a generator: not consumed here
        elif isinstance(value, str | bytes | Tensor | np.ndarray) or not isinstance(
            value, list | tuple | range
        ):
            raise KindError(f"{name} must be a list or tuple, got {describe(value)}")
        if of_tensors and not value:
            raise ValueError(f"{name} is an empty list; give at least one")
        if check_item is None:
            return value
        checked_items = [_inner(check_item, v, f"{name}[{i}]") for i, v in enumerate(value)]
        return type(value)(checked_items) if isinstance(value, list | tuple) else value

    return check


def _inner(check: Checker | None, value: Any, name: str) -> Any:
    """An element's check: its kind error is a plain TypeError (a union must not skip the container)."""
    if check is None:
        return value
    try:
        return check(value, name)
    except KindError as e:
        raise TypeError(str(e)) from None


def _strip(hint: Any) -> Any:
    """The type under an ``Annotated[...]`` hint."""
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


def _members(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in _UNION_TYPES else (hint,)


def _fixed_tuple(items: tuple[Any, ...]) -> Checker:
    checks = [checker(i) for i in items]

    def check(value: Any, name: str) -> Any:
        if not isinstance(value, list | tuple) or len(value) != len(items):
            raise KindError(f"{name} must be a tuple of {len(items)} values, got {describe(value)}")
        return tuple(_inner(c, v, f"{name}[{i}]") for i, (c, v) in enumerate(zip(checks, value, strict=True)))

    return check


def _mapping(key: Any, val: Any) -> Checker:
    check_key, check_val = checker(key), checker(val)

    def check(value: Any, name: str) -> Any:
        if not isinstance(value, Mapping):
            raise KindError(f"{name} must be a dict, got {describe(value)}")
        for k, v in value.items():
            _inner(check_key, k, f"a key of {name}")
            _inner(check_val, v, f"{name}[{k!r}]")
        return value

    return check


# ----------------------------------------------------------------------------------------------------
# The decorator
# ----------------------------------------------------------------------------------------------------


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations of ``fn`` (Annotated kept); one that cannot be evaluated counts as Any."""
    raw = inspect.get_annotations(fn)
    hints = {}
    for name, hint in raw.items():
        if isinstance(hint, str):
            try:
                hint = eval(hint, getattr(inspect.unwrap(fn), "__globals__", {}))  # noqa: S307
            except Exception:  # noqa: BLE001 (a name imported only for type checkers)
                hint = Any
        hints[name] = hint
    return hints


@dataclass
class _Plan:
    signature: inspect.Signature
    checks: dict[str, tuple[Checker, inspect._ParameterKind]]


def _keywords(options: type) -> Checker:
    """``**options: Unpack[TD]``: each keyword checked against its entry of the TypedDict ``TD``; a keyword
    TD does not name passes through (the function says what it takes)."""
    checks = {k: checker(v) for k, v in typing.get_type_hints(options, include_extras=True).items()}

    def check(value: Any, name: str) -> Any:
        c = checks.get(name)
        return c(value, name) if c is not None else value

    return check


def _plan(fn: Callable[..., Any]) -> _Plan:
    hints, sig = type_hints(fn), inspect.signature(fn)
    checks = {}
    for p in sig.parameters.values():
        hint = hints.get(p.name, Any)
        unpacked = p.kind is inspect.Parameter.VAR_KEYWORD and get_origin(hint) is typing.Unpack
        c = _keywords(get_args(hint)[0]) if unpacked else checker(hint)
        if c is not None and p.name not in ("self", "cls"):
            checks[p.name] = (c, p.kind)
    return _Plan(sig, checks)


def checked(fn: F) -> F:
    """Check every argument a caller passes against ``fn``'s type hints before it runs (see the module)."""
    plan: list[_Plan] = []

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not plan:
            plan.append(_plan(fn))
        p = plan[0]
        try:
            bound = p.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{fn.__qualname__}(): {e}; see help({fn.__qualname__})") from None
        arguments = bound.arguments
        for name, value in arguments.items():
            entry = p.checks.get(name)
            if entry is None:
                continue
            check, kind = entry
            if kind is inspect.Parameter.VAR_POSITIONAL:
                arguments[name] = tuple(check(v, f"{name}[{i}]") for i, v in enumerate(value))
            elif kind is inspect.Parameter.VAR_KEYWORD:
                arguments[name] = {k: check(v, k) for k, v in value.items()}
            else:
                arguments[name] = check(value, name)
        return fn(*bound.args, **bound.kwargs)

    wrapper.__validated__ = True  # type: ignore[attr-defined]
    return typing.cast(F, wrapper)


def output_type(cls: type) -> type:
    """Mark a class that the library returns and a user never builds (a result record): its fields are
    not checked, and the API test does not send it bad arguments."""
    cls.__nstlab_output__ = True  # type: ignore[attr-defined]
    return cls


def check_fields(obj: Any) -> None:
    """Check (and convert) a dataclass instance's fields against their type hints; call in __post_init__."""
    hints = type_hints_of_class(type(obj))
    for f in fields(obj):
        c = checker(hints.get(f.name, Any))
        if c is not None:
            object.__setattr__(obj, f.name, c(getattr(obj, f.name), f.name))


def type_hints_of_class(cls: type) -> dict[str, Any]:
    """The evaluated field annotations of a class and its bases (see :func:`type_hints`)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        module = __import__(klass.__module__, fromlist=["_"])
        for name, hint in inspect.get_annotations(klass).items():
            if isinstance(hint, str):
                try:
                    hint = eval(hint, vars(module), dict(vars(klass)))  # noqa: S307
                except Exception:  # noqa: BLE001
                    hint = Any
            hints[name] = hint
    return hints
