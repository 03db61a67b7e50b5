"""The two steps of the hit model, shared by the Databricks job and the local command."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from pyspark.sql import SparkSession

from soundlake import lake as lk
from soundlake.ml.dataset import HitDataset, build_dataset, read_gold
from soundlake.ml.model import TrainResult, importance_table, metrics_table, train_and_select
from soundlake.ml.scoring import PREDICTIONS, WriteStats, predictions_frame, score_rows, write_predictions
from soundlake.ml.settings import HitSettings
from soundlake.ml.target import SCORE, TRAIN
from soundlake.ml.tracking import MlflowPlace, Registered, load_version, log_and_register

Say = Callable[[str], None]


def dataset(spark: SparkSession, lake: lk.Lake, settings: HitSettings, as_of: dt.datetime | None = None,
            history_start: dt.datetime | None = None, say: Say = print) -> HitDataset:
    ds = build_dataset(read_gold(spark, lake), settings, as_of=as_of, history_start=history_start)
    c = ds.role_counts()
    say(f"hit: streams from {ds.history_start} to {ds.as_of}; window {settings.window_days} days, "
        f"hit = above the {settings.period}'s median")
    say(f"hit: {len(ds.frame)} tracks: {c['train']} labelled, {c['score']} with an open window, "
        f"{c['excluded']} excluded")
    for reason, n in ds.reasons().items():
        say(f"hit:   {n:>7}  {reason}")
    return ds


def train(ds: HitDataset, place: MlflowPlace, say: Say = print) -> tuple[TrainResult, Registered]:
    result = train_and_select(ds.rows(TRAIN), list(ds.numeric), list(ds.categorical), ds.settings)
    say("\n" + metrics_table(result) + "\n")
    say(importance_table(result) + "\n")
    reg = log_and_register(result, ds, place)
    say(f"hit: run {reg.run_id} (experiment {place.experiment}); registered {reg.name} "
        f"version {reg.version} as @{ds.settings.alias}")
    return result, reg


def score(spark: SparkSession, lake: lk.Lake, ds: HitDataset, place: MlflowPlace,
          scored_at: dt.datetime | None = None, say: Say = print) -> WriteStats:
    model, version = load_version(place, ds.settings.alias)
    scored = score_rows(model, ds.rows(SCORE), ds.settings.threshold, ds.settings.threads)
    at = scored_at or dt.datetime.now(dt.timezone.utc)
    stats = write_predictions(spark, lake, predictions_frame(spark, scored, place.model_name, version, at))
    for line in stats.report.lines():
        say(f"hit: {line}")
    say(f"hit: gold.{PREDICTIONS} with {place.model_name} version {version}: {stats.inserted} inserted, "
        f"{stats.updated} updated, {stats.unchanged} unchanged ({int(scored['predicted_hit'].sum())} "
        f"of {len(scored)} predicted hits)")
    return stats
