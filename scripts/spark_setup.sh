#!/usr/bin/env bash
# Installs what the Spark engine tests (tests/engines, marker `spark`) need when it is missing:
# Java 17 from Debian (as root, as on CI) and pyspark + sqlglot in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

if ! command -v java >/dev/null 2>&1; then
    echo "spark setup: installing Java (openjdk-17-jre-headless)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -n 1

if ! "$PY" -c "import pyspark, sqlglot" >/dev/null 2>&1; then
    echo "spark setup: installing pyspark and sqlglot into $PY"
    "$PY" -m pip install --quiet "pyspark>=3.5" "sqlglot>=25"
fi
"$PY" -c "import pyspark, sqlglot; print('spark setup: pyspark', pyspark.__version__, '· sqlglot', sqlglot.__version__)"
