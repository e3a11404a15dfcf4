"""What the validation layer costs: one Gatys step (Adam, the default objective with its floors) with every
``@checked`` wrapper in place, against the same step with the wrappers removed, in the same process.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/validation.py [--size 192] [--steps 20]

The wrappers are removed by putting each function's ``__wrapped__`` back into every nstlab module and
class namespace, so the two runs differ in nothing else. Prints a markdown table (median seconds per step).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import time
from typing import Any

import torch

import nstlab
from nstlab import images, optimize


def nstlab_namespaces() -> list[dict[str, Any]]:
    spaces = []
    for info in pkgutil.walk_packages(nstlab.__path__, "nstlab."):
        mod = importlib.import_module(info.name)
        spaces.append(vars(mod))
        spaces += [vars(obj) for obj in vars(mod).values() if isinstance(obj, type)]
    return spaces


def set_validation(on: bool, saved: dict[tuple[int, str], Any]) -> None:
    """Remove the wrappers (``on=False``, remembering them in ``saved``) or put them back."""
    for space in nstlab_namespaces():
        for name, value in list(space.items()):
            key = (id(space), name)
            if not on and getattr(value, "__validated__", False):
                saved[key] = value
                _assign(space, name, value.__wrapped__)
            elif on and key in saved:
                _assign(space, name, saved[key])


def _assign(space: Any, name: str, value: Any) -> None:
    try:
        space[name] = value
    except TypeError:  # a class's mappingproxy
        owner = next(o for o in _classes() if vars(o) is space)
        setattr(owner, name, value)


def _classes() -> list[type]:
    out = []
    for info in pkgutil.walk_packages(nstlab.__path__, "nstlab."):
        out += [o for o in vars(importlib.import_module(info.name)).values() if isinstance(o, type)]
    return out


def seconds_per_step(size: int, steps: int) -> float:
    content, style = images.load("chelsea", size=size), images.load("strokes", size=size)
    times: list[float] = []
    record = lambda step, img, rec: times.append(time.perf_counter())  # noqa: E731
    optimize.stylize(
        content,
        style,
        size=size,
        steps=steps,
        optimizer="adam",
        progress=False,
        callback=record,
        callback_every=1,
    )
    return statistics.median(b - a for a, b in zip(times, times[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    seconds_per_step(64, 3)  # warm-up: weights, caches
    saved: dict[tuple[int, str], Any] = {}
    rows = []
    for label, on in (("checked", True), ("unchecked", False), ("checked again", True)):
        set_validation(on, saved)
        rows.append((label, seconds_per_step(args.size, args.steps)))
    base = rows[1][1]
    print(f"| Gatys step, Adam, {args.size} px | s/step | vs unchecked |\n| --- | ---: | ---: |")
    for label, s in rows:
        print(f"| {label} | {s:.4f} | {s / base:.3f}x |")


if __name__ == "__main__":
    main()
