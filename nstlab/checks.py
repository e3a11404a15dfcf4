"""Exercise checks with feedback that names the mistake.

Every ``check_<task>(student_fn)`` runs the student's function on fresh seeded random inputs, compares
the result with nstlab's reference, prints one line and returns True or False. It never raises: an
unfinished stub (``raise NotImplementedError``) prints "not implemented yet", so an exercise notebook
runs from top to bottom under nbval before any exercise is done.

When a result is wrong, the check runs the known wrong implementations of the task (transposed
product, wrong normalization, missing eps, ...) on the same inputs; if the student's output matches
one, the line names that mistake instead of only saying "wrong".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

Args = tuple[Any, ...]


def say(task: str, ok: bool, message: str) -> bool:
    """Print the one-line verdict of a check and return ``ok``."""
    print(f"{'✔' if ok else '✘'} {task}: {message}")
    return ok


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def difference(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-6) -> str | None:
    """None when ``got`` matches ``expected`` (shape, then values); otherwise what differs, in words.

    Tuples and lists are compared element by element.
    """
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"expected {len(expected)} results, got {type(got).__name__}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = difference(g, e, rtol, atol)
            if problem:
                return f"result {i}: {problem}"
        return None
    try:
        g, e = _as_array(got), _as_array(expected)
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


def _clone(args: Args) -> Args:
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def verdict(
    task: str,
    student_fn: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Args],
    mistakes: dict[str, Callable[..., Any]] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> bool:
    """Run ``student_fn`` and ``reference`` on each argument tuple in ``cases``; print, return the verdict.

    ``mistakes`` maps a message naming a typical mistake to a function that makes it; the first one
    whose output the student's matches is reported.
    """
    for args in cases:
        expected = reference(*_clone(args))
        try:
            got = student_fn(*_clone(args))
        except NotImplementedError:
            return say(task, False, "not implemented yet")
        except Exception as err:  # the student's code: report, never raise
            return say(task, False, f"raised {type(err).__name__}: {err}")
        problem = difference(got, expected, rtol, atol)
        if problem is None:
            continue
        for message, wrong in (mistakes or {}).items():
            try:
                if difference(got, wrong(*_clone(args)), rtol, atol) is None:
                    return say(task, False, message)
            except Exception:  # a mistake that cannot run on these inputs is not the one made
                continue
        return say(task, False, problem)
    return say(task, True, f"correct on {len(cases)} random case{'s' if len(cases) > 1 else ''}")


# --- sets 1-5 ----------------------------------------------------------------------------------


# --- sets 6-10 ---------------------------------------------------------------------------------
