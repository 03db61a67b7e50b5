#!/usr/bin/env bash
# Installs everything soundlake needs on a fresh machine (Node 20+, Python 3.11, Java 17 present):
# npm packages (Azurite included), the TypeScript build, and a Python venv with local Spark + Delta.
# Idempotent: a second run only does what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund
fi
echo "[setup] building TypeScript"
npm run --silent build

if [ "${SOUNDLAKE_SKIP_PYTHON:-0}" != "1" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv"
    python3 -m venv .venv
  fi
  stamp=.venv/.soundlake-requirements
  want=$(cat databricks/requirements.txt databricks/requirements-dev.txt databricks/requirements-bundle.txt databricks/pyproject.toml databricks/setup.py | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[setup] pip install -r databricks/requirements-dev.txt (pyspark, delta-spark, pytest, ...)"
    .venv/bin/pip install --quiet --disable-pip-version-check -r databricks/requirements-dev.txt
    echo "$want" > "$stamp"
  fi
fi
# Headless Chromium for the console's browser tests (tests/console/consoleBrowser.test.ts), from
# the distribution's packages: playwright-core drives it, and never downloads a browser of its own.
# CHROMIUM_PATH names another Chromium or Chrome (the GitHub runners' google-chrome) and skips this.
if [ "${SOUNDLAKE_SKIP_BROWSER:-0}" != "1" ] && [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "[setup] apt-get install chromium (headless browser for the console tests)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "[setup] no apt-get here: install Chromium and set CHROMIUM_PATH for the console's browser tests"
  fi
fi
echo "[setup] done"
