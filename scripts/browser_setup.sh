#!/usr/bin/env bash
# Installs what tests/test_widgets_browser.py needs: Debian's Chromium (no browser downloads)
# and JupyterLab + Playwright's Python package in the project venv. Idempotent; safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_PY="${VENV_PY:-.venv/bin/python}"

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "browser setup: installing chromium with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "browser setup: /usr/bin/chromium missing and not root on Debian; the browser test will skip"
    fi
fi

if ! "$VENV_PY" -c "import jupyterlab, playwright" >/dev/null 2>&1; then
    echo "browser setup: installing jupyterlab and playwright into the venv"
    # Only the Python package: Playwright drives /usr/bin/chromium, never a downloaded browser.
    "$VENV_PY" -m pip install --quiet "jupyterlab>=4.2" "playwright>=1.45"
fi
echo "browser setup: chromium $(/usr/bin/chromium --version 2>/dev/null || echo missing)"
