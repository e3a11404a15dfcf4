import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

from nstlab import cli


def test_cli_writes_a_valid_png_at_a_tiny_size(tmp_path):
    out = tmp_path / "out.png"
    code = cli.main(
        [
            "stylize",
            "--content",
            "chelsea",
            "--style",
            "mosaic",
            "-o",
            str(out),
            "--size",
            "32",
            "--steps",
            "2",
            "--backbone",
            "random-vgg16",
        ]
    )
    assert code == 0
    with Image.open(out) as im:
        im.verify()
    with Image.open(out) as im:
        assert im.format == "PNG" and max(im.size) == 32 and im.mode == "RGB"


def test_cli_reports_a_missing_file_in_one_line(tmp_path, capsys):
    code = cli.main(
        [
            "stylize",
            "--content",
            str(tmp_path / "nope.jpg"),
            "--style",
            "waves",
            "-o",
            str(tmp_path / "o.png"),
            "--backbone",
            "random-vgg16",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "no image file" in err and err.count("\n") == 1


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "nstlab.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "stylize" in result.stdout


def _stylize_args(tmp_path, **changes):
    args = {"--content": "chelsea", "--style": "waves", "-o": str(tmp_path / "o.png"), "--size": "32"}
    args.update({"--steps": "1", "--backbone": "random-vgg16"}, **changes)
    return ["stylize", *[x for kv in args.items() for x in kv]]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"-o": "{file}/out.png"}, "is a file, not a folder"),
        ({"-o": "{tmp}/out.xyz"}, "suffix"),
        ({"--content": "{tmp}/missing.jpg"}, "no image file"),
        ({"--content": "{tmp}"}, "is a folder"),
        ({"--style": "{file}"}, "cannot read"),
        ({"--size": "0"}, "--size: must be a whole number >= 1"),
        ({"--size": "abc"}, "--size: must be a whole number >= 1, got 'abc'"),
        ({"--steps": "-3"}, "--steps: must be a whole number >= 1"),
        ({"--style-weight": "-1"}, "style_weight must be a finite number >= 0"),
        ({"--style-weight": "nan"}, "style_weight must be a finite number"),
        ({"--backbone": "vgg99"}, "invalid choice"),
        ({"--style-loss": "mmd_poly3"}, "invalid choice: 'mmd_poly3' (choose from 'block_gram'"),
        ({"--style-layers": "relu9_9"}, "relu9_9"),
        ({"--tv-weight": "-1"}, "tv_weight must be a finite number >= 0"),
        ({"--preserve-color": "histogram"}, "invalid choice"),
        ({"--optimizer": "sgd"}, "invalid choice"),
    ],
)
def test_every_user_error_is_one_line_and_a_nonzero_exit(tmp_path, capsys, changes, message):
    (tmp_path / "file").write_text("not an image")
    fill = {"file": tmp_path / "file", "tmp": tmp_path}
    code = cli.main(_stylize_args(tmp_path, **{k: v.format(**fill) for k, v in changes.items()}))
    err = capsys.readouterr().err
    assert code != 0 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_console_script_prints_one_line_for_a_bad_output_path(tmp_path):
    """The installed entry point, run as a user would: no traceback, exit status 1."""
    (tmp_path / "file").write_text("x")
    argv = _stylize_args(tmp_path, **{"-o": str(tmp_path / "file" / "out.png")})
    result = subprocess.run([sys.executable, "-m", "nstlab.cli", *argv], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "is a file, not a folder" in result.stderr


def test_export_decoder_reports_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    argv = ["export-decoder", str(tmp_path / "missing.pt"), str(tmp_path / "d.pt"), "--command", "x"]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "missing.pt" in err and err.count("\n") == 1, err
    assert not (tmp_path / "d.pt").exists()


def _one_line_error(capsys, argv: list[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _truncated_checkpoint(path):
    """A real checkpoint's first half, as an interrupted copy leaves it."""
    torch.save({"config": {}, "model": {"w": torch.rand(64, 64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_export_decoder_on_a_truncated_checkpoint_is_one_line(tmp_path, capsys):
    ckpt = _truncated_checkpoint(tmp_path / "checkpoint.pt")
    err = _one_line_error(capsys, ["export-decoder", str(ckpt), str(tmp_path / "d.pt"), "--command", "x"])
    assert "cannot read the checkpoint" in err and "checkpoint.pt" in err
    assert not (tmp_path / "d.pt").exists()


def test_train_decoder_resume_on_a_truncated_checkpoint_fails_before_loading_anything(tmp_path, capsys):
    _truncated_checkpoint(tmp_path / "checkpoint.pt")
    start = time.perf_counter()
    err = _one_line_error(capsys, ["train-decoder", "--out", str(tmp_path), "--resume", "--steps", "10"])
    assert "cannot read the checkpoint" in err
    assert time.perf_counter() - start < 5, "the backbone or the image pools were loaded first"


@pytest.mark.parametrize("flag", ["--steps", "--batch-size", "--crop", "--checkpoint-every"])
@pytest.mark.parametrize("value", ["0", "-2", "1.5"])
def test_train_decoder_refuses_counts_below_one_before_any_work(tmp_path, capsys, flag, value):
    err = _one_line_error(capsys, ["train-decoder", "--out", str(tmp_path), flag, value])
    assert f"argument {flag}: must be a whole number >= 1" in err
    assert not any(tmp_path.iterdir()), "nothing is written for a refused command"


def test_train_decoder_output_that_is_a_file_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    err = _one_line_error(capsys, ["train-decoder", "--out", str(tmp_path / "taken" / "run"), "--steps", "5"])
    assert "cannot write to the folder" in err


def test_an_unexpected_error_is_one_line_unless_debugging(monkeypatch, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("something deep failed")

    monkeypatch.setattr(cli, "stylize", broken)
    err = _one_line_error(capsys, _stylize_args(tmp_path))
    assert "internal error: RuntimeError: something deep failed" in err and "NSTLAB_DEBUG" in err
    monkeypatch.setenv("NSTLAB_DEBUG", "1")
    with pytest.raises(RuntimeError, match="something deep failed"):
        cli.main(_stylize_args(tmp_path))


def test_stylize_takes_the_objective_and_loop_options_from_the_command_line(tmp_path, monkeypatch):
    """Each option reaches stylize under its own name: the style loss, layers, weights, optimizer, colour."""
    seen = {}

    def record(content, style, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(cli, "stylize", record)
    extra = {
        "--style-loss": "sliced_w2",
        "--style-layers": "relu1_1, relu2_1",
        "--content-layers": "relu3_1",
        "--content-weight": "2",
        "--tv-weight": "0",
        "--optimizer": "adam",
        "--lr": "0.05",
        "--init": "noise",
        "--preserve-color": "moments",
    }
    with pytest.raises(SystemExit):
        cli.main(_stylize_args(tmp_path, **extra))
    assert seen["style_loss"] == "sliced_w2" and seen["style_layers"] == ["relu1_1", "relu2_1"]
    assert (
        seen["content_layers"] == ["relu3_1"] and seen["content_weight"] == 2.0 and seen["tv_weight"] == 0.0
    )
    assert seen["optimizer"] == "adam" and seen["lr"] == 0.05 and seen["init"] == "noise"
    assert seen["preserve_color"] == "moments"


def test_cli_runs_a_registered_style_loss(tmp_path):
    out = tmp_path / "out.png"
    assert cli.main(_stylize_args(tmp_path, **{"-o": str(out), "--style-loss": "mean_std"})) == 0
    with Image.open(out) as im:
        assert max(im.size) == 32
