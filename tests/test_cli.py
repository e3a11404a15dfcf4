import subprocess
import sys

import pytest
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
        ({"--size": "0"}, "size must be a positive"),
        ({"--size": "abc"}, "invalid int value"),
        ({"--steps": "-3"}, "steps must be a positive"),
        ({"--style-weight": "-1"}, "style_weight must be a finite number >= 0"),
        ({"--style-weight": "nan"}, "style_weight must be a finite number >= 0"),
        ({"--backbone": "vgg99"}, "invalid choice"),
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
