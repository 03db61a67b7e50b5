#!/usr/bin/env bash
# What the real-PostgreSQL mode of `npm run bench -- --postgres` needs besides the project:
# a PostgreSQL server from Debian's `postgresql` package (installed with apt-get where that is
# available as root), and a bench-only Python venv, .bench/venv, with the pinned peers of
# bench/peers/requirements.txt (dlt with its pyarrow and ConnectorX backends). Idempotent.
# Never fails the bench: what is missing is reported, and the bench skips it with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."

have_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; }
if ! have_server; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "[bench setup] apt-get install postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || echo "[bench setup] apt-get install postgresql failed"
  else
    echo "[bench setup] no PostgreSQL server, and apt-get is not available as root to install one"
  fi
fi

if command -v python3 >/dev/null 2>&1; then
  if [ ! -x .bench/venv/bin/python ]; then
    echo "[bench setup] creating .bench/venv"
    python3 -m venv .bench/venv || echo "[bench setup] python3 -m venv failed"
  fi
  stamp=.bench/venv/.soundlake-bench-requirements
  want=$(sha256sum bench/peers/requirements.txt | cut -d' ' -f1)
  if [ -x .bench/venv/bin/pip ] && { [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; }; then
    echo "[bench setup] pip install -r bench/peers/requirements.txt (dlt, connectorx, pyarrow)"
    if .bench/venv/bin/pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt; then echo "$want" > "$stamp"; else echo "[bench setup] pip install failed"; fi
  fi
else
  echo "[bench setup] no python3: the dlt peers will be skipped"
fi
exit 0
