"""The machinery of the exercise checks (nstlab.checks._core) and the package layout: every check answers a
stub with "not implemented yet" in one line, reports a crash or a missing return instead of raising,
accepts any of several tied answers, and is re-exported from nstlab.checks."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import torch

from nstlab import checks

ALL_CHECKS = [getattr(checks, name) for name in checks.__all__ if name.startswith("check_")]


def stub(*args, **kwargs):
    raise NotImplementedError()


def test_every_set_module_is_re_exported():
    """Each public name of a setNN module is reachable as checks.<name>; notebooks use only those."""
    modules = [m.name for m in pkgutil.iter_modules(checks.__path__) if m.name.startswith("set")]
    assert [m[:5] for m in sorted(modules)] == [f"set{n:02d}" for n in range(1, len(modules) + 1)]
    for name in modules:
        module = importlib.import_module(f"nstlab.checks.{name}")
        public = {n for n, v in vars(module).items() if callable(v) and v.__module__ == module.__name__}
        public = {n for n in public if not n.startswith("_")}
        assert public, name
        assert public <= set(checks.__all__), (name, public - set(checks.__all__))


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_stub_reports_not_implemented(check, capsys):
    assert check(stub) is False
    out = capsys.readouterr().out
    assert out.startswith("✘") and "not implemented yet" in out and out.count("\n") == 1, out


def test_a_crash_or_a_missing_return_is_reported_not_raised(capsys):
    assert checks.check_gram(lambda F: F @ F) is False  # (C, N) @ (C, N): a shape error
    assert "raised RuntimeError" in capsys.readouterr().out
    assert checks.check_shrink(lambda G, lam: None) is False
    assert "returned None" in capsys.readouterr().out


def test_one_of_accepts_any_option_and_reports_the_first_otherwise():
    answers = checks.OneOf((0.25, 0.5))
    assert checks.difference(0.5, answers) is None
    assert checks.difference(0.25 + 1e-12, answers) is None
    assert "max abs error 0.05" in checks.difference(0.3, answers)  # measured against 0.25
    assert checks.difference(torch.tensor([1.0, 2.0]), checks.OneOf((torch.tensor([1.0, 2.0]),))) is None
    assert "wrong shape" in checks.difference(torch.ones(3), checks.OneOf((torch.ones(2),)))


def test_rule_is_stated_on_success_and_on_an_unexplained_difference_only(capsys):
    cases = [(1.0,), (2.0,)]
    mistakes = {"doubled": lambda x: 2 * x}
    rule = "any tied answer counts"
    assert checks.verdict("t", lambda x: x, lambda x: x, cases, mistakes, rule=rule)
    assert capsys.readouterr().out == f"✔ t: correct on 2 test cases ({rule})\n"
    assert not checks.verdict("t", lambda x: x + 3, lambda x: x, cases, mistakes, rule=rule)
    assert capsys.readouterr().out.rstrip().endswith(f"(max abs error 3) ({rule})")
    assert not checks.verdict("t", lambda x: 2 * x, lambda x: x, cases, mistakes, rule=rule)
    assert capsys.readouterr().out == "✘ t: doubled\n"


@pytest.mark.parametrize(
    ("guess", "answer", "right"),
    [
        (100, 100, True),
        (1000, 100, False),
        ("  Transposed ", "transposed", True),
        ("resize", "transposed", False),
        (["relu1_1", "relu2_1"], ("relu1_1", "relu2_1"), True),
        (["relu2_1", "relu1_1"], ["relu1_1", "relu2_1"], False),
        (True, 1, True),
        ("100", 100, False),
    ],
)
def test_prediction_says_right_or_wrong_and_why(guess, answer, right, capsys):
    assert checks.prediction(guess, answer, "because of X") is right
    line = capsys.readouterr().out
    assert ("right." in line) is right and "because of X" in line and repr(guess) in line
    assert right or repr(answer) in line


def test_a_missing_prediction_shows_the_answer_without_a_verdict(capsys):
    assert checks.prediction(None, "both", "because of Y") is False
    line = capsys.readouterr().out
    assert "none recorded" in line and "'both'" in line and "because of Y" in line and "✘" not in line
