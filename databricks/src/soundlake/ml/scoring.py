"""Batch scoring into gold.track_hit_predictions (a Delta table with expectations).

One row per (track_id, model_version): a track whose window is still open, scored by one
registered model version. Written with a MERGE on that key, and only where something other
than `scored_at` changed: a rerun with the same model version on the same data leaves the
table as it was (no new commit, `scored_at` kept). Rows of tracks whose window has closed
since stay: they are the record to judge the predictions by.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from threadpoolctl import threadpool_limits

from soundlake import lake as lk
from soundlake.gold import expectations as ex

PREDICTIONS = "track_hit_predictions"
KEYS = ("track_id", "model_version")
SCHEMA = T.StructType([
    T.StructField("track_id", T.IntegerType()),
    T.StructField("release_date", T.DateType()),
    T.StructField("window_closes_at", T.TimestampType()),
    T.StructField("hit_probability", T.DoubleType()),
    T.StructField("predicted_hit", T.BooleanType()),
    T.StructField("model_name", T.StringType()),
    T.StructField("model_version", T.StringType()),
    T.StructField("scored_at", T.TimestampType()),
])
EXPECTATIONS = ex.Expectations(
    drop={"track_id_not_null": "track_id IS NOT NULL"},
    warn={"release_date_known": "release_date IS NOT NULL"},
    fail={
        "hit_probability_in_unit_interval": "coalesce(hit_probability BETWEEN 0 AND 1, false)",
        "predicted_hit_not_null": "predicted_hit IS NOT NULL",
        "model_version_not_null": "model_version IS NOT NULL AND model_name IS NOT NULL",
    },
)


def score_rows(model, rows: pd.DataFrame, threshold: float, threads: int = 1) -> pd.DataFrame:
    """Probability and label per row, with the columns the model was fitted on."""
    wanted = list(getattr(model, "feature_names_in_", []))
    missing = [c for c in wanted if c not in rows.columns]
    if missing:
        raise ValueError(f"the model needs column(s) the scoring rows lack: {missing}")
    with threadpool_limits(limits=threads):
        proba = model.predict_proba(rows[wanted])[:, 1] if len(rows) else np.array([], dtype=float)
    return pd.DataFrame({
        "track_id": rows["track_id"].astype("int64"),
        "release_date": rows["release_date"],
        "window_closes_at": rows["window_closes_at"],
        "hit_probability": proba.astype(float),
        "predicted_hit": proba >= threshold,
    })


def predictions_frame(spark: SparkSession, scored: pd.DataFrame, model_name: str, version: str,
                      scored_at: dt.datetime) -> DataFrame:
    if scored["track_id"].duplicated().any():
        raise ValueError("scoring rows hold a track twice")
    records = [
        (int(r.track_id), r.release_date, pd.Timestamp(r.window_closes_at).to_pydatetime(),
         float(r.hit_probability), bool(r.predicted_hit), model_name, version, scored_at)
        for r in scored.itertuples(index=False)
    ]
    return spark.createDataFrame(records, SCHEMA)


@dataclass(frozen=True)
class WriteStats:
    inserted: int
    updated: int
    unchanged: int
    report: ex.QualityReport


def write_predictions(spark: SparkSession, lake: lk.Lake, df: DataFrame) -> WriteStats:
    """Check the expectations, then MERGE what is new or changed (nothing: no commit at all)."""
    kept, report = ex.apply(df, EXPECTATIONS, PREDICTIONS)
    lk.ensure_table(spark, lake, "gold", PREDICTIONS, SCHEMA,
                    "Hit probability per track whose first window is still open, per model version")
    target = lk.read(spark, lake, "gold", PREDICTIONS)
    same = [c for c in SCHEMA.names if c != "scored_at"]
    cond = None
    for c in same:
        eq = F.col(f"s.{c}").eqNullSafe(F.col(f"t.{c}"))
        cond = eq if cond is None else cond & eq
    # not persisted (serverless has no caching API): small, and recomputed against the same
    # snapshot, as the job runs one at a time
    changed = kept.alias("s").join(target.alias("t"), cond, "left_anti")
    n_changed = changed.count()
    total = report.rows_out
    if n_changed == 0:
        return WriteStats(0, 0, total, report)
    n_updated = changed.join(target, list(KEYS), "left_semi").count()
    on = " AND ".join(f"t.{k} = s.{k}" for k in KEYS)
    (
        lk.delta_table(spark, lake, "gold", PREDICTIONS).alias("t")
        .merge(changed.alias("s"), on)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    return WriteStats(n_changed - n_updated, n_updated, total - n_changed, report)
