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


def _reference_square(x):
    return x * x


def _square_in_place(x):
    return x.mul_(x)


def _square_in_float32(x):
    return (x * x).float()


def test_a_function_that_changes_its_input_in_place_is_named(capsys):
    """The caller's tensors must come back untouched: x.mul_(x) has the right value and still fails."""
    x = torch.arange(1.0, 5.0, dtype=torch.float64)
    assert checks.verdict("square", _square_in_place, _reference_square, [(x,)]) is False
    out = capsys.readouterr().out
    assert "changed its argument `x` in place" in out, out
    assert torch.equal(x, torch.arange(1.0, 5.0, dtype=torch.float64))  # the check ran on a copy


def test_keep_dtype_names_a_result_in_another_dtype(capsys):
    """A task that states "same dtype" rejects a float64 -> float32 result that is right in value."""
    x = torch.linspace(0, 1, 5, dtype=torch.float64)
    assert checks.verdict("square", _square_in_float32, _reference_square, [(x,)], atol=1e-3) is True
    capsys.readouterr()
    assert checks.verdict("square", _square_in_float32, _reference_square, [(x,)], keep_dtype=True) is False
    assert "the inputs are torch.float64 but the result is torch.float32" in capsys.readouterr().out


def _check_square(fn):
    return checks.verdict("square", fn, _reference_square, [(torch.tensor([1.5, -2.0]),)])


def test_your_turn_goes_on_with_the_students_function_only_when_it_passes(capsys):
    """A stub or a wrong answer hands the chapter the library's version, saying so; a right one is kept;
    must_pass turns a failure into an error (the chapter sources prove their answers)."""

    def mine(x):
        return x**2

    def wrong(x):
        return 2 * x

    assert checks.your_turn(mine, _check_square, _reference_square) is mine
    assert "goes on with your function" in capsys.readouterr().out
    for attempt in (stub, wrong):
        assert checks.your_turn(attempt, _check_square, _reference_square) is _reference_square
        out = capsys.readouterr().out
        assert out.startswith("✘") and "library's version" in out and "_reference_square" in out, out
    assert checks.your_turn(mine, _check_square, _reference_square, must_pass=True) is mine
    with pytest.raises(AssertionError, match="wrong"):
        checks.your_turn(wrong, _check_square, _reference_square, must_pass=True)
