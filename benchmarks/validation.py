"""What the validation layer costs: one Gatys step (Adam, the default objective with its floors) with every
``@checked`` wrapper in place, against the same step with the wrappers removed, in the same process, in
alternating rounds.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/validation.py [--size 192] [--steps 20] [--rounds 5]

The wrappers are removed by putting each function's ``__wrapped__`` back into every nstlab module and
class namespace, so the two runs differ in nothing else. Prints a markdown table (median seconds per
step) and the per-round ratios.
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


def nstlab_owners() -> list[Any]:
    """Every nstlab module and every class defined in one: the places a wrapped function is looked up."""
    owners = []
    for info in pkgutil.walk_packages(nstlab.__path__, "nstlab."):
        mod = importlib.import_module(info.name)
        owners.append(mod)
        owners += [o for o in vars(mod).values() if isinstance(o, type) and o.__module__ == info.name]
    return owners


def set_validation(on: bool, saved: dict[tuple[int, str], Any]) -> None:
    """Remove the wrappers (``on=False``, remembering them in ``saved``) or put them back."""
    for owner in nstlab_owners():
        for name, value in list(vars(owner).items()):
            key = (id(owner), name)
            if not on and getattr(value, "__validated__", False):
                saved[key] = value
                setattr(owner, name, value.__wrapped__)
            elif on and key in saved:
                setattr(owner, name, saved[key])


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
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    seconds_per_step(64, 3)  # warm-up: weights, caches
    saved: dict[tuple[int, str], Any] = {}
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.rounds):  # alternating order, so that a drift of the machine hits both
        for on in (True, False) if r % 2 == 0 else (False, True):
            set_validation(on, saved)
            times[on].append(seconds_per_step(args.size, args.steps))
    set_validation(True, saved)
    ratios = [c / u for c, u in zip(times[True], times[False], strict=True)]
    print(
        f"{len(saved)} wrappers removed for the unchecked runs; {args.rounds} rounds of {args.steps} steps\n"
    )
    print(f"| Gatys step, Adam, {args.size} px | s/step (median of rounds) |\n| --- | ---: |")
    for label, on in (("checked", True), ("unchecked", False)):
        print(f"| {label} | {statistics.median(times[on]):.4f} |")
    print(
        f"\nchecked / unchecked per round: {', '.join(f'{q:.3f}' for q in ratios)}; median "
        f"{statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
