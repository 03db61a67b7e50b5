#!/usr/bin/env bash
# Every test: setup, then the TypeScript suite (vitest, against Azurite and PGlite it starts itself)
# and the Databricks suite (pytest on local Spark + Delta).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
