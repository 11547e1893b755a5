#!/usr/bin/env bash
# Installs what the browser/Spark tests need when missing (CI runs as root on Debian).
set -uo pipefail
echo "test setup: nothing extra needed yet"
