"""Gold -> one row per track: its features at release, its target and its role (pandas)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from soundlake import lake as lk
from soundlake.ml.features import (
    StreamFeature,
    check_stream_features,
    default_stream_features,
    release_features,
    releases,
)
from soundlake.ml.settings import HitSettings
from soundlake.ml.target import EXCLUDED, SCORE, TRAIN, label, observed_range

GOLD_TABLES = ("dim_track", "dim_artist", "dim_album", "dim_date", "fact_stream")
CATEGORICAL = ("genre", "artist_country", "duration_flag")
STATIC_NUMERIC = (
    "duration_sec", "explicit", "danceability", "energy", "tempo_bpm",
    "release_year", "release_month", "release_day_of_week", "release_is_weekend",
    "artist_prior_releases", "days_since_artist_release", "album_tracks", "days_from_album_release",
)
# what the target is made of: never a model input
TARGET_COLUMNS = ("window_streams", "period_median", "hit")


@dataclass(frozen=True)
class GoldTables:
    dim_track: DataFrame
    dim_artist: DataFrame
    dim_album: DataFrame
    dim_date: DataFrame
    fact_stream: DataFrame


def read_gold(spark: SparkSession, lake: lk.Lake) -> GoldTables:
    missing = [n for n in GOLD_TABLES if not lake.exists(spark, "gold", n)]
    if missing:
        raise ValueError(f"gold table(s) missing: {', '.join(missing)}; run the medallion first")
    return GoldTables(*(lk.read(spark, lake, "gold", n) for n in GOLD_TABLES))


@dataclass(frozen=True)
class HitDataset:
    frame: pd.DataFrame      # one row per track
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    history_start: dt.datetime
    as_of: dt.datetime
    settings: HitSettings

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def rows(self, role: str) -> pd.DataFrame:
        return self.frame[self.frame["role"] == role].reset_index(drop=True)

    def role_counts(self) -> dict[str, int]:
        return {r: int((self.frame["role"] == r).sum()) for r in (TRAIN, SCORE, EXCLUDED)}

    def reasons(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame["reason"].value_counts().sort_index().items()}


def build_dataset(
    gold: GoldTables,
    settings: HitSettings,
    as_of: dt.datetime | None = None,
    history_start: dt.datetime | None = None,
    stream_features: tuple[StreamFeature, ...] | None = None,
) -> HitDataset:
    """Label every track, then compute the features of those that train or get scored."""
    feats = stream_features if stream_features is not None else default_stream_features(settings.lookback_days)
    check_stream_features(feats)  # refuse a leaking feature before any work
    lo, hi = observed_range(gold.fact_stream)
    start, end = history_start or lo, as_of or hi
    if start >= end:
        raise ValueError(f"history start {start} is not before as-of {end}")
    # no persist(): serverless compute has no caching API, and the data is small
    labelled = label(releases(gold.dim_track), gold.fact_stream, settings, start, end)
    used = labelled.where(F.col("role") != EXCLUDED)
    x = release_features(used.select("track_id", "release_date", "release_ts"), gold.dim_track,
                         gold.dim_artist, gold.dim_album, gold.dim_date, gold.fact_stream, feats)
    numeric = (*STATIC_NUMERIC, *[f.name for f in feats])
    leaked = set(numeric) & set(TARGET_COLUMNS)
    if leaked:
        raise ValueError(f"feature name(s) {sorted(leaked)} collide with the target's columns")
    out = labelled.join(x.drop("release_date", "release_ts"), "track_id", "left")
    frame = out.toPandas()
    for c in numeric:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in CATEGORICAL:
        frame[c] = frame[c].astype("object").where(frame[c].notna(), None)
    frame = frame.sort_values(["release_ts", "track_id"], kind="stable").reset_index(drop=True)
    return HitDataset(frame, numeric, CATEGORICAL, start, end, settings)
