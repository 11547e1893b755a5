#!/usr/bin/env bash
# Installs what the browser and Spark tests need when it is missing (CI runs as root on Debian):
# Chromium + JupyterLab/Playwright for the widget and report screenshots, Java + pyspark for Spark.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in scripts/browser_setup.sh scripts/spark_setup.sh; do
    if [ -f "$script" ]; then
        echo "test setup: $script"
        bash "$script"
    fi
done
