"""Entry points of the hit-model job on Databricks (python_wheel_task).

    hit-train  --catalog C --gold-schema G --experiment /Workspace/... --model-name C.ml.hit_model [--window-days N]
    hit-score  --catalog C --gold-schema G --model-name C.ml.hit_model [--window-days N]

Gold is read from <catalog>.<gold schema> (the bundle passes `${resources.schemas.gold.name}`,
which development mode renames to dev_<user>_gold); runs go to the workspace's MLflow, the model to the Unity
Catalog registry; predictions to <catalog>.gold.track_hit_predictions.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Iterable


def _session():
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # release dates start at 00:00 UTC
    return spark


def _args(prog: str, argv: Iterable[str] | None, experiment: bool) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--gold-schema", default="gold", help="gold schema as the bundle names it")
    ap.add_argument("--model-name", required=True, help="<catalog>.<schema>.<model> in Unity Catalog")
    if experiment:
        ap.add_argument("--experiment", required=True, help="workspace path of the MLflow experiment")
    ap.add_argument("--alias", help="registered model alias (default from conf/hit_model.yml)")
    ap.add_argument("--window-days", type=int, help="target window (default from conf/hit_model.yml)")
    ap.add_argument("--lookback-days", type=int, help="artist history before release (default from conf)")
    ap.add_argument("--as-of", type=dt.datetime.fromisoformat,
                    help="treat streams up to this instant as the history (default: the last stream)")
    return ap.parse_args(list(argv) if argv is not None else None)


def _settings(a: argparse.Namespace):
    from soundlake.ml.settings import hit_settings

    return hit_settings().with_overrides(window_days=a.window_days, lookback_days=a.lookback_days,
                                        alias=a.alias)


def train(argv: Iterable[str] | None = None) -> int:
    from soundlake.lake import CatalogLake
    from soundlake.ml import steps
    from soundlake.ml.tracking import databricks_place

    a = _args("hit-train", argv, experiment=True)
    place = databricks_place(a.experiment, a.model_name)
    spark = _session()
    ds = steps.dataset(spark, CatalogLake(a.catalog, "", gold_schema=a.gold_schema), _settings(a), as_of=a.as_of)
    steps.train(ds, place)
    return 0


def score(argv: Iterable[str] | None = None) -> int:
    from soundlake.lake import CatalogLake
    from soundlake.ml import steps
    from soundlake.ml.tracking import databricks_place

    a = _args("hit-score", argv, experiment=False)
    place = databricks_place(None, a.model_name)  # scoring reads the registry, records no run
    spark = _session()
    lake = CatalogLake(a.catalog, "", gold_schema=a.gold_schema)
    ds = steps.dataset(spark, lake, _settings(a), as_of=a.as_of)
    steps.score(spark, lake, ds, place)
    return 0


if __name__ == "__main__":
    sys.exit(train())
