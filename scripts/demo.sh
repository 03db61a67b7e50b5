#!/usr/bin/env bash
# The main job on embedded defaults: setup, then Azurite + embedded Postgres, seed, initial load,
# changes, incremental pass, bronze -> silver -> gold on local Spark, then the hit model on gold
# (trained, registered in .soundlake/mlflow, predictions in gold). Extra args go to the demo
# (--scale N, --streams N, --no-medallion, --no-hit, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/local/demo.js "$@"
