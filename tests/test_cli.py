import subprocess
import sys

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


def test_cli_reports_a_missing_file_and_exits_2(tmp_path, capsys):
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
    assert code == 2
    assert "no image file" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "nstlab.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "stylize" in result.stdout
