"""What an instructor does in front of a class: start JupyterLab from this environment, open a chapter
with an instructor widget, run all cells, move a slider with the keyboard, and see the picture change.

The chapter is the quickest of those whose code shows a widget (``.widget()``), by the run times kept in
build/executed/ (``make test-course``), or the one named by ``NSTLAB_LAB_CHAPTER``. It runs from a copy in
a temporary folder, so JupyterLab's autosave never writes outputs into notebooks/. A screenshot of the lab
after the slider moved goes to build/screenshots/lab_widget.png."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "nstlab-browser-test"
SCREENSHOT = ROOT / "build" / "screenshots" / "lab_widget.png"
RUN_LIMIT_S = 600
# JupyterLab settings for the test: every cell in the page (no windowing), no news, no autosave
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


DIAGNOSE = """() => ({
  prompts: [...document.querySelectorAll('.jp-InputPrompt')].map(e => e.innerText).join(' '),
  widgets: document.querySelectorAll('.jupyter-widgets').length,
  interact: document.querySelectorAll('.widget-interact').length,
  sliders: document.querySelectorAll('.widget-slider, .noUi-handle').length,
  widgetErrors: [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText)
    .filter(t => /Error|Loading widget|Traceback/.test(t)).map(t => t.slice(0, 300)),
})"""


def widget_chapters() -> list[Path]:
    """Chapters with a code cell that calls ``.widget()``, quickest first (by their executed copies)."""

    def shows_widget(path: Path) -> bool:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return any(c["cell_type"] == "code" and ".widget()" in "".join(c["source"]) for c in nb["cells"])

    def seconds(path: Path) -> float:
        executed = ROOT / "build" / "executed" / "notebooks" / path.name
        if not executed.is_file():
            return float("inf")
        return (
            json.loads(executed.read_text(encoding="utf-8"))["metadata"]
            .get("nstlab_run", {})
            .get("seconds", 1e9)
        )

    chapters = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if shows_widget(p)]
    return sorted(chapters, key=seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, log: Path, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer {url} within {limit_s} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a loopback port, token known, serving a copy of one widget chapter."""
    chapters = widget_chapters()
    named = os.environ.get("NSTLAB_LAB_CHAPTER")
    chapter = ROOT / "notebooks" / named if named else (chapters[0] if chapters else None)
    if chapter is None:
        pytest.fail("no chapter shows an instructor widget (`.widget()`)")
    home = tmp_path_factory.mktemp("lab")
    (home / "notebooks").mkdir()
    shutil.copy(chapter, home / "notebooks" / chapter.name)
    port = free_port()
    env = dict(os.environ, NSTLAB_BUDGET=os.environ.get("NSTLAB_BUDGET", "ci"), OMP_WAIT_POLICY="PASSIVE")
    env |= {"JUPYTER_CONFIG_DIR": str(home / ".config"), "JUPYTER_RUNTIME_DIR": str(home / ".runtime")}
    env |= {
        "JUPYTERLAB_WORKSPACES_DIR": str(home / ".workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / ".lab"),
    }
    for name, values in LAB_SETTINGS.items():
        (home / ".lab" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / ".lab" / name).write_text(json.dumps(values), encoding="utf-8")
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as for a person
    cmd = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
    ]
    cmd += [
        "--allow-root",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={home}",
    ]
    cmd += ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None"]
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={TOKEN}", proc, home / "lab.log")
        yield base, chapter.name, home / "lab.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def answer_dialog(page) -> bool:
    """Accept a dialog JupyterLab put up, as a person would; True if there was one. (Seen once in CI:
    "Select Kernel", when a run found the notebook's kernel gone; its accept button starts the kernel the
    notebook names. Escape would reject it and leave the notebook without a kernel.)"""
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if not accept.count():
        return False
    accept.first.click()
    return True


def run_all_cells(page) -> None:
    """Run > Run All Cells from the menu bar, then wait until no cell is queued or running."""
    queued = page.locator(".jp-InputPrompt:has-text('[*]')")
    for _ in range(3):  # a click while the kernel connection settles can be lost: try again
        answer_dialog(page)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            queued.first.wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 (playwright's TimeoutError: nothing was queued)
            if not answer_dialog(page):
                page.keyboard.press("Escape")  # a menu left open
    deadline, quiet_since = time.monotonic() + RUN_LIMIT_S, None
    while time.monotonic() < deadline:
        running = queued.count()
        quiet_since = (quiet_since or time.monotonic()) if running == 0 else None
        if quiet_since and time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.5)
    pytest.fail(f"the chapter did not finish within {RUN_LIMIT_S} s")


def test_slider_moved_by_keyboard_changes_the_picture(browser, lab):
    base, name, log = lab
    local = urlsplit(base).netloc
    other_hosts: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(
        "**/*",
        lambda r: (
            r.continue_()
            if urlsplit(r.request.url).netloc in (local, "")
            else (other_hosts.append(r.request.url), r.abort())
        ),
    )
    page = context.new_page()
    try:
        drive_the_widget(page, base, name)
    except BaseException:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT.with_name("lab_widget_failed.png")))
        print("JupyterLab at the failure:", page.evaluate(DIAGNOSE))
        print("jupyter lab's log, last lines:", log.read_text(errors="replace")[-3000:])
        raise
    finally:
        context.close()
    assert not other_hosts, f"JupyterLab asked other hosts: {other_hosts[:5]}"


def drive_the_widget(page, base: str, name: str) -> None:
    """Open the chapter, run all cells, press an arrow key on the first slider, wait for a new picture."""
    page.goto(f"{base}/lab/tree/notebooks/{name}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120_000)
    run_all_cells(page)

    errors = page.locator(".jp-OutputArea-output:has-text('Traceback')").all_inner_texts()
    assert not errors, f"{name}: cells raised in JupyterLab:\n{errors[0][-3000:]}"
    interact = page.locator(".widget-interact", has=page.locator(".noUi-handle")).first
    assert interact.count(), f"{name}: no widget with a slider after running all cells"
    picture = interact.locator(".widget-output img").first
    picture.wait_for(timeout=60_000)
    before = picture.get_attribute("src")
    handle = interact.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    readout = interact.locator(".widget-readout").first.inner_text()
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    page.wait_for_function(
        "([root, old]) => { const img = root.querySelector('.widget-output img');"
        " return img && img.getAttribute('src') !== old; }",
        arg=[interact.element_handle(), before],
        timeout=60_000,
    )
    assert interact.locator(".widget-readout").first.inner_text() != readout, "the slider did not move"
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    interact.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT))
