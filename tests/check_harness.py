"""The two tests every exercise set's checks get: a correct implementation passes (the check prints ✔ and
returns True), and each named mistake is caught with its message (✘ and the phrase that names it)."""

from __future__ import annotations

import pytest


def run(check, fn, capsys):
    """Call a check on ``fn``; return what it returned and what it printed."""
    ok = check(fn)
    return ok, capsys.readouterr().out


def check_tests(correct: list, mistakes: list) -> tuple:
    """The two parametrized tests for one set: ``correct`` holds (check, fn) pairs, ``mistakes`` holds
    (id, check, wrong fn, phrase) rows. Assign both to module names starting with ``test_``."""

    @pytest.mark.parametrize(("check", "fn"), correct, ids=lambda x: getattr(x, "__name__", ""))
    def passes(check, fn, capsys):
        ok, out = run(check, fn, capsys)
        assert ok is True and out.startswith("✔"), out

    @pytest.mark.parametrize(
        ("check", "wrong", "phrase"), [m[1:] for m in mistakes], ids=[m[0] for m in mistakes]
    )
    def names_the_mistake(check, wrong, phrase, capsys):
        ok, out = run(check, wrong, capsys)
        assert ok is False and out.startswith("✘") and phrase in out, out

    return passes, names_the_mistake
