"""The machinery every exercise check shares: compare, name the mistake, print one line.

A check runs the student's function on seeded inputs (:mod:`._random`) against nstlab's reference with
:func:`verdict`; when the results differ, it runs the known wrong implementations of the task on the same
inputs and reports the first one the student's output matches. Checks never raise: an unfinished stub
prints "not implemented yet", an exception in the student's code is reported in the line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

Args = tuple[Any, ...]
"""The arguments of one test case, passed to the student's function and to the reference."""


@dataclass(frozen=True)
class OneOf:
    """Several expected results that are all right (e.g. tied maxima): a match with any one passes."""

    options: tuple[Any, ...]


def say(task: str, ok: bool, message: str) -> bool:
    """Print the one-line verdict of a check and return ``ok``."""
    print(f"{'✔' if ok else '✘'} {task}: {message}")
    return ok


def _same_answer(guess: Any, answer: Any) -> bool:
    if isinstance(answer, str):
        return isinstance(guess, str) and guess.strip().lower() == answer.strip().lower()
    if isinstance(answer, list | tuple):
        return (
            isinstance(guess, list | tuple)
            and len(guess) == len(answer)
            and all(_same_answer(g, a) for g, a in zip(guess, answer, strict=True))
        )
    return guess == answer


def prediction(guess: Any, answer: Any, why: str) -> bool:
    """The reveal of a "Predict, then run" prompt: compare the recorded ``guess`` with the measured
    ``answer`` and say in one line whether it was right, and ``why``.

    Text compares without case or surrounding spaces, lists and tuples element by element in order, numbers
    and booleans exactly. ``guess`` None (nothing recorded) prints the answer without a verdict; returns
    True only for a right prediction.
    """
    if guess is None:
        print(f"• prediction: none recorded; the answer is {answer!r}: {why}")
        return False
    right = _same_answer(guess, answer)
    verdict = "right" if right else f"not quite: the answer is {answer!r}"
    return say("prediction", right, f"you said {guess!r}, {verdict}. {why}")


def your_turn(
    mine: Callable[..., Any],
    check: Callable[[Callable[..., Any]], bool],
    library: Callable[..., Any],
    *,
    must_pass: bool = False,
) -> Callable[..., Any]:
    """The function a chapter goes on with after a "Your turn" cell.

    ``check(mine)`` prints its one-line verdict (naming the mistake when there is one). When it passes the
    chapter goes on with ``mine``; otherwise with ``library``, the library's version, so a chapter runs to
    the end whether the stub is filled in, wrong or left alone. ``must_pass=True`` raises instead: the
    chapter sources in ``solutions/chapters/`` use it so that CI proves their answers pass, and
    ``tools/make_exercises.py`` removes it from the student's notebook.
    """
    if check(mine):
        print("  the chapter goes on with your function")
        return mine
    if must_pass:
        raise AssertionError(f"the reference answer {getattr(mine, '__name__', mine)!r} fails its check")
    module, name = getattr(library, "__module__", None), getattr(library, "__qualname__", repr(library))
    name = name if module in (None, "__main__") else f"{module}.{name}"
    print(f"  until it passes, the chapter goes on with the library's version ({name})")
    return library


def as_array(x: Any) -> np.ndarray:
    """A tensor, number or nested list as a float64 numpy array (TypeError/ValueError if not numeric)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def dtype_problem(got: Any, args: Args) -> str | None:
    """None when a floating tensor result has the dtype of the first floating tensor argument (what a task
    that says "same dtype" asks); otherwise the mistake, in words."""
    given = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
    if given is None or not isinstance(got, torch.Tensor) or not got.is_floating_point():
        return None
    if got.dtype == given.dtype:
        return None
    return (
        f"the inputs are {given.dtype} but the result is {got.dtype}: keep the inputs' dtype (a constant "
        "made with torch.tensor(...) without dtype=, or a .float()/.double(), changes it)"
    )


def clone_args(args: Args) -> Args:
    """A copy of a case whose tensors the student's function may modify in place without harm."""
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def difference(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-6) -> str | None:
    """None when ``got`` matches ``expected`` (shape, then values); otherwise what differs, in words.

    Tuples and lists are compared element by element; a :class:`OneOf` matches when any option does
    (otherwise the difference to its first option is reported).
    """
    if isinstance(expected, OneOf):
        problems = [difference(got, option, rtol, atol) for option in expected.options]
        return None if None in problems else problems[0]
    if got is None and expected is not None:
        return "returned None (is a `return` missing?)"
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"expected {len(expected)} results, got {type(got).__name__}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = difference(g, e, rtol, atol)
            if problem:
                return f"result {i}: {problem}"
        return None
    try:
        g, e = as_array(got), as_array(expected)
    except (TypeError, ValueError):
        return f"expected a number or tensor, got {type(got).__name__}"
    if g.shape != e.shape:
        return f"wrong shape: got {g.shape}, expected {e.shape}"
    if not np.isfinite(g).all():
        return "the result contains NaN or inf"
    if not np.allclose(g, e, rtol=rtol, atol=atol):
        err = np.abs(g - e).max()
        return f"values differ from the reference (max abs error {err:.3g})"
    return None


Mistakes = dict[str, Callable[..., Any] | Sequence[Callable[..., Any]]]
"""Message naming a typical mistake -> a function making it (or a list of variants of the same mistake)."""


def named_mistake(got: Any, args: Args, mistakes: Mistakes | None, rtol: float, atol: float) -> str | None:
    """The message of the first mistake whose output on ``args`` matches ``got``; None if none does."""
    for message, variants in (mistakes or {}).items():
        for wrong in variants if isinstance(variants, Sequence) else (variants,):
            try:
                if difference(got, wrong(*clone_args(args)), rtol, atol) is None:
                    return message
            except Exception:  # a mistake that cannot run on these inputs is not the one made
                continue
    return None


def call_student(
    task: str,
    student_fn: Callable[..., Any],
    args: Args,
    raised: Callable[[Exception], str] = lambda err: f"raised {type(err).__name__}: {err}",
) -> tuple[Any, bool | None]:
    """Run the student's function on a copy of ``args``: (result, None), or (None, the printed verdict False)
    when it is an unfinished stub ("not implemented yet") or raises (worded by ``raised``). Never raises."""
    given = clone_args(args)
    try:
        got = student_fn(*given)
    except NotImplementedError:
        return None, say(task, False, "not implemented yet")
    except Exception as err:  # the student's code: report, never raise
        return None, say(task, False, raised(err))
    changed = modified_argument(student_fn, args, given)
    if changed is not None:
        return None, say(
            task,
            False,
            f"it changed its argument {changed} in place (an in-place operation such as `+=`, `.sub_()` or "
            "`x[...] = ...` on the caller's tensor); work on a copy or use out-of-place operations",
        )
    return got, None


def modified_argument(student_fn: Callable[..., Any], before: Args, after: Args) -> str | None:
    """The name of the first tensor argument whose values differ between ``before`` (the caller's) and
    ``after`` (the copy the student's function received); None when the function left its inputs alone."""
    try:
        names = list(inspect.signature(student_fn).parameters)
    except (TypeError, ValueError):
        names = []
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if isinstance(b, torch.Tensor) and isinstance(a, torch.Tensor) and b.shape == a.shape:
            if not torch.equal(b.detach(), a.detach()):
                return f"`{names[i]}`" if i < len(names) else f"number {i + 1}"
    return None


def _requiring_grad(args: Args, grad_of: Sequence[int]) -> Args:
    """A copy of ``args`` whose float tensors at the positions ``grad_of`` require a gradient."""
    return tuple(
        a.detach().clone().requires_grad_(True)
        if i in grad_of and isinstance(a, torch.Tensor) and a.is_floating_point()
        else a
        for i, a in enumerate(clone_args(args))
    )


def gradient_problem(
    student_fn: Callable[..., Any],
    reference: Callable[..., Any],
    args: Args,
    grad_of: Sequence[int],
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> str | None:
    """None when the student's result has the reference's gradient with respect to the arguments at the
    positions ``grad_of``; otherwise what is wrong, in words. Both results are contracted with the same
    seeded random weights first, so every entry of a non-scalar result is checked."""
    names = list(inspect.signature(reference).parameters)
    s_args, r_args = _requiring_grad(args, grad_of), _requiring_grad(args, grad_of)
    got, expected = student_fn(*s_args), reference(*r_args)
    weights = torch.rand(expected.shape, generator=torch.Generator().manual_seed(0), dtype=expected.dtype)
    wrt = [r_args[i] for i in grad_of]
    ref_grads = torch.autograd.grad((expected * weights).sum(), wrt, allow_unused=True)
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        where = " and ".join(names[i] if i < len(names) else f"argument {i}" for i in grad_of)
        return (
            f"the value is right, but no gradient reaches {where} (a float(), .item(), .detach() or numpy "
            "step cuts it), so an optimizer could not use this loss"
        )
    grads = torch.autograd.grad(
        (got * weights.to(got)).sum(), [s_args[i] for i in grad_of], allow_unused=True
    )
    for i, g, e in zip(grad_of, grads, ref_grads, strict=True):
        name = names[i] if i < len(names) else f"argument {i}"
        if g is None and e is not None:
            return f"the value is right, but no gradient reaches {name}"
        if g is not None and e is not None:
            problem = difference(g, e, rtol, atol)
            if problem is not None:
                return f"the value is right, but the gradient with respect to {name}: {problem}"
    return None


def verdict(
    task: str,
    student_fn: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Args],
    mistakes: Mistakes | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    rule: str | None = None,
    grad_of: Sequence[int] = (),
    keep_dtype: bool = False,
) -> bool:
    """Run ``student_fn`` and ``reference`` on each argument tuple in ``cases``; print, return the verdict.

    ``mistakes`` maps a message naming a typical mistake to a function that makes it (or to a list of
    functions: variants of the same mistake); the first one whose output the student's matches is
    reported. ``rule`` (e.g. how ties are decided) is added in brackets to the success line and to a
    difference that no listed mistake explains. ``grad_of``: positions of the arguments whose gradient
    must also match the reference's once the values do (a loss that a loop differentiates).
    ``keep_dtype``: the task says the result has the inputs' dtype; a result in another dtype fails.
    A function that changes its tensor arguments in place fails in every check (:func:`call_student`).
    """
    note = f" ({rule})" if rule else ""
    for args in cases:
        expected = reference(*clone_args(args))
        got, stopped = call_student(task, student_fn, args)
        if stopped is not None:
            return stopped
        problem = difference(got, expected, rtol, atol)
        if problem is None and keep_dtype:
            problem = dtype_problem(got, args)
            if problem is not None:
                return say(task, False, problem)
        if problem is None and grad_of:
            try:
                problem = gradient_problem(student_fn, reference, args, grad_of, rtol, atol)
            except Exception as err:  # the student's code: report, never raise
                problem = f"the value is right, but differentiating it raised {type(err).__name__}: {err}"
            if problem is not None:
                return say(task, False, problem)
        if problem is None:
            continue
        message = named_mistake(got, args, mistakes, rtol, atol)
        return say(task, False, message or problem + note)
    return say(task, True, f"correct on {len(cases)} test case{'s' if len(cases) > 1 else ''}{note}")


def stop_on_singular(task: str, student_fn: Callable[..., Any], args: Args, message: str) -> bool | None:
    """Run the student's function on a singular input first: a verdict when it fails there, else None.

    A stub gives "not implemented yet"; an error or a NaN/inf result gives ``message`` (the missing
    regularization). verdict() cannot name this mistake itself: a NaN result matches no wrong function.
    """
    got, stopped = call_student(
        task,
        student_fn,
        args,
        lambda err: f"{message} (on a singular covariance it raised {type(err).__name__})",
    )
    if stopped is not None:
        return stopped
    try:
        finite = bool(np.isfinite(as_array(got)).all())
    except (TypeError, ValueError):
        return None  # verdict() explains a wrong type
    return None if finite else say(task, False, f"{message} (NaN or inf on a singular covariance)")


def construction_pair(task: str, student_fn: Callable[..., Any], args: Args = ()) -> Any:
    """Call a construction task; returns (X, Y) as float64 tensors, or a bool verdict when unusable."""
    pair, stopped = call_student(task, student_fn, args)
    if stopped is not None:
        return stopped
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        return say(task, False, "return a pair (X, Y) of (C, N) tensors")
    X, Y = (torch.as_tensor(as_array(t)) for t in pair)
    if X.ndim != 2 or X.shape != Y.shape or X.shape[1] < 2:
        return say(
            task,
            False,
            f"X and Y must be (C, N) with the same C and N, got {tuple(X.shape)} and {tuple(Y.shape)}",
        )
    if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
        return say(task, False, "the points contain NaN or inf")
    return X, Y


def mean_variance(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Total variance of the two clouds, averaged: the scale the construction checks measure against."""
    return float(X.var(1, correction=0).sum() + Y.var(1, correction=0).sum()) / 2 + 1e-300


def adain_form(content: torch.Tensor, moments: tuple, form: str = "ok") -> torch.Tensor:
    """AdaIN sigma_s (c - mu_c) / sigma_c + mu_s from given moments (mu_c, sd_c, mu_s, sd_s), or a mistake
    students make: ``form`` "swap" (mean and std exchanged), "mean" (mean only), "normalize" (IN only)."""
    mu_c, sd_c, mu_s, sd_s = moments
    if form == "swap":
        return mu_s * (content - mu_c) / sd_c + sd_s
    if form == "mean":
        return content - mu_c + mu_s
    if form == "normalize":
        return (content - mu_c) / sd_c
    return sd_s * (content - mu_c) / sd_c + mu_s
