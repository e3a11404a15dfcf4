"""Browser tests: Debian's Chromium driven by Playwright (PyPI), never a browser downloaded by a tool.

They run only when selected (``pytest -m browser tests/browser``, ``make test-browser``): the site test
needs ``build/site`` (``make site``), the JupyterLab test starts a server and runs a chapter. Outside CI a
missing Chromium skips them with the command that installs it; in CI (``CI`` set) it fails.
"""

from __future__ import annotations

import os
import shutil

import pytest

# No background traffic, and no host resolves but loopback (the site must read offline).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str:
    path = os.environ.get("NSTLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "no Chromium: `apt-get install chromium` (Debian), or set NSTLAB_CHROMIUM to its path"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Playwright's bundled driver, Debian's browser)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[site]' (playwright)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
