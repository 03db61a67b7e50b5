"""Hit prediction on the local gold tables: train, register, score. One command:

    .venv/bin/python -m soundlake.local.hit

reads gold from --lake-dir (default .soundlake/lake, written by the medallion), trains the
candidates, prints the test metrics against the majority baseline and the feature
importances, records the run and registers the chosen model (alias champion) in the MLflow
store under --mlflow-dir (default .soundlake/mlflow: SQLite + artifacts), then scores the
tracks whose window is still open into gold.track_hit_predictions.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Iterable


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soundlake.local.hit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake-dir", default=os.environ.get("SOUNDLAKE_LAKE_DIR", ".soundlake/lake"))
    ap.add_argument("--mlflow-dir", default=os.environ.get("SOUNDLAKE_MLFLOW_DIR", ".soundlake/mlflow"))
    ap.add_argument("--window-days", type=int, help="target window (default from conf/hit_model.yml)")
    ap.add_argument("--lookback-days", type=int, help="artist history before release (default from conf)")
    ap.add_argument("--as-of", type=dt.datetime.fromisoformat,
                    help="treat streams up to this instant as the history (default: the last stream)")
    ap.add_argument("--score-only", action="store_true", help="score with the current champion, no training")
    a = ap.parse_args(list(argv) if argv is not None else None)

    t0 = time.monotonic()

    def say(msg: str) -> None:
        print(f"[{time.monotonic() - t0:7.1f}s] {msg}" if not msg.startswith("\n") and "\n" not in msg
              else msg, flush=True)

    lake_dir = Path(a.lake_dir).resolve()
    if not (lake_dir / "gold" / "fact_stream").is_dir():
        print(f"error: no gold tables under {lake_dir}; run the medallion first "
              "(bash scripts/demo.sh, or python -m soundlake.local.medallion)", file=sys.stderr)
        return 2

    from soundlake.local.spark import local_spark
    from soundlake.ml.settings import hit_settings

    settings = hit_settings().with_overrides(window_days=a.window_days, lookback_days=a.lookback_days)
    say(f"spark: starting local Spark + Delta; gold from {lake_dir}")
    spark = local_spark("soundlake-hit", jvm_log=str(lake_dir / "_logs" / "spark.log"))
    try:
        run(spark, lake_dir, Path(a.mlflow_dir), settings, as_of=a.as_of, train=not a.score_only, say=say)
    finally:
        spark.stop()
    return 0


def run(spark, lake_dir: Path, mlflow_dir: Path, settings, as_of: dt.datetime | None = None,
        train: bool = True, say=print):
    """Gold under `lake_dir` -> (train, register) -> score; returns (dataset, result, registration, stats)."""
    from soundlake.lake import PathLake
    from soundlake.ml import steps
    from soundlake.ml.tracking import local_place

    place = local_place(mlflow_dir)
    lake = PathLake(str(lake_dir))
    ds = steps.dataset(spark, lake, settings, as_of=as_of, say=say)
    result = reg = None
    if train:
        result, reg = steps.train(ds, place, say=say)
    stats = steps.score(spark, lake, ds, place, say=say)
    say(f"mlflow: store {place.tracking_uri}")
    say("mlflow: to browse the runs, in a separate venv with full mlflow (README):  "
        f"mlflow ui --backend-store-uri {place.tracking_uri} --port 5000")
    return ds, result, reg, stats


if __name__ == "__main__":
    sys.exit(main())
