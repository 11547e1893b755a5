"""The widgets notebook in a real browser: JupyterLab on 127.0.0.1 and headless Debian Chromium
driven by Playwright (no browser download). Runs all cells, checks the builder and dashboard
render (no "Error displaying widget"), clicks Create, saves screenshots to reports/screenshots/.

Set up with ``scripts/browser_setup.sh`` (Chromium via apt, jupyterlab + playwright via pip).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "reports" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab settings for a quiet, fully rendered notebook (no news/update toasts; every cell in
# the DOM so off-screen widgets can be found).
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _requirements() -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing; run scripts/browser_setup.sh (apt chromium)")
    for module in ("jupyterlab", "playwright"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed; run scripts/browser_setup.sh")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _jupyterlab(root: Path, home: Path) -> Iterator[tuple[str, str]]:
    """Start JupyterLab serving ``root``; yield (base url, token); stop it and its kernels."""
    port, token = _free_port(), secrets.token_hex(16)
    settings = home / "user-settings"
    for rel, value in SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
    )
    log = (home / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0",
            "--LabApp.extension_manager=readonly",  # no PyPI lookups from the test
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited: {(home / 'jupyterlab.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("JupyterLab did not answer within 60 s")
            time.sleep(0.3)
        yield base, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def test_widgets_notebook_in_chromium(tmp_path: Path) -> None:
    _requirements()
    from playwright.sync_api import sync_playwright

    # Serve a copy so the browser's autosave never rewrites the repository's notebook.
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "04_widgets.ipynb", root / "notebooks")
    (root / "data").symlink_to(ROOT / "data", target_is_directory=True)
    SHOTS.mkdir(parents=True, exist_ok=True)

    with _jupyterlab(root, tmp_path / "home") as (base, token), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/notebooks/04_widgets.ipynb?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            # Kernel ready, then run everything through the app's own command.
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return !!(w && w.sessionContext && w.sessionContext.session &&"
                " w.sessionContext.session.kernel &&"
                " w.sessionContext.session.kernel.status === 'idle'); }",
                timeout=90_000,
            )
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
                " return p.length > 0 && p.every(x => /\\[\\d+\\]/.test(x.textContent)); }",
                timeout=120_000,
            )
            create = page.locator(".widget-button", has_text="Create")
            create.wait_for(state="visible")
            page.locator(".widget-button", has_text="Declare winner").wait_for()
            page.locator(".widget-button", has_text="Export report").wait_for()
            page.locator(".widget-image img, img.widget-image").first.wait_for()
            page.locator(".pab-health").wait_for()
            page.locator(".widget-button", has_text="▶").wait_for()  # the offline viewer
            text = page.locator(".jp-Notebook").inner_text()
            assert "Error displaying widget" not in text
            assert "Traceback" not in text
            assert (
                page.locator(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                ).count()
                == 0
            )
            page.screenshot(path=str(SHOTS / "04_widgets_after_run.png"))
            builder = create.locator("xpath=ancestor::div[contains(@class,'widget-vbox')][last()]")
            builder.screenshot(path=str(SHOTS / "04_builder.png"))
            dashboard = page.locator(".widget-button", has_text="Declare winner").locator(
                "xpath=ancestor::div[contains(@class,'widget-vbox')][last()]"
            )
            dashboard.scroll_into_view_if_needed()
            dashboard.screenshot(path=str(SHOTS / "04_dashboard.png"))

            # The notebook already created "support-bot-v2": Create answers inline, no traceback.
            create.click()
            status = page.locator(".pab-status.error")
            status.wait_for()
            assert "already exists" in status.inner_text()
            builder.screenshot(path=str(SHOTS / "04_builder_after_create.png"))
        finally:
            browser.close()
