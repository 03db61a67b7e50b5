#!/usr/bin/env bash
# The local SQL endpoint: Spark's Thrift server (HiveServer2, JDBC/ODBC) on 127.0.0.1 over the
# gold Delta tables in .soundlake/lake (a small demo gold is built first when there is none).
# Extra args go to python -m soundlake.local.sql_endpoint (--port N, --lake-dir D).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
export PYTHONPATH="$PWD/databricks/src${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m soundlake.local.sql_endpoint --demo "$@"
