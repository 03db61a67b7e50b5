"""The target: is a track a hit in its first weeks, against the tracks released with it?

    window_streams  streams of the track in [release, release + window_days)
    hit             window_streams above the median of the observed windows of the tracks
                    released in the same period (week, month or quarter)

A track's role follows from what the stream history can show (`history_start`, the first
stream, to `as_of`, the last one):
    train     its window has closed and its features' lookback lies inside the history
    score     its window is still open (window_closes_at > as_of): predicted, not learnt from
    excluded  with a reason: released before the history covers its lookback, not released
              yet, no release date, or a period with too few observed windows to have a median
The window counts only the track's own streams; features never read them (features.py).
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from soundlake.ml.features import RELEASE_TS, days_after
from soundlake.ml.settings import HitSettings

TRAIN, SCORE, EXCLUDED = "train", "score", "excluded"


def observed_range(fact: DataFrame) -> tuple[dt.datetime, dt.datetime]:
    """First and last stream: the stretch of time the history can speak for."""
    row = fact.agg(F.min("streamed_at").alias("lo"), F.max("streamed_at").alias("hi")).first()
    if row is None or row["lo"] is None:
        raise ValueError("gold.fact_stream has no streams: nothing to learn a hit from")
    return row["lo"], row["hi"]


def window_streams(tracks: DataFrame, fact: DataFrame, window_days: int) -> DataFrame:
    """Streams of each track in its first `window_days` after release (0 when none)."""
    s = fact.select(F.col("track_id").alias("__s_track"), "streamed_at")
    rts = F.col(RELEASE_TS)
    on = ((F.col("track_id") == F.col("__s_track")) & (F.col("streamed_at") >= rts)
          & (F.col("streamed_at") < days_after(rts, window_days)))
    return tracks.select("track_id", RELEASE_TS).join(s, on, "left").groupBy("track_id").agg(
        F.count("__s_track").alias("window_streams"))


def label(
    tracks: DataFrame,
    fact: DataFrame,
    settings: HitSettings,
    history_start: dt.datetime,
    as_of: dt.datetime,
) -> DataFrame:
    """`tracks` (track_id, release_date, release_ts) with window, period median, hit and role."""
    start, end = F.lit(history_start).cast("timestamp"), F.lit(as_of).cast("timestamp")
    rts = F.col(RELEASE_TS)
    closes = days_after(rts, settings.window_days)
    t = (
        tracks.join(window_streams(tracks, fact, settings.window_days), "track_id", "left")
        .withColumn("window_closes_at", closes)
        .withColumn("period_start", F.date_trunc(settings.period, rts).cast("date"))
        .withColumn("window_observed", rts.isNotNull() & (rts >= start) & (closes <= end))
    )
    per = Window.partitionBy("period_start")
    observed = F.when(F.col("window_observed"), F.col("window_streams"))
    t = (
        t.withColumn("period_tracks", F.count(observed).over(per))
        .withColumn("period_median", F.percentile(observed, F.lit(0.5)).over(per))
    )
    role = (
        F.when(rts.isNull(), F.lit(EXCLUDED))
        .when(rts > end, F.lit(EXCLUDED))
        .when(rts < days_after(start, settings.lookback_days), F.lit(EXCLUDED))
        .when(closes > end, F.lit(SCORE))
        .when(F.col("period_tracks") < settings.min_period_tracks, F.lit(EXCLUDED))
        .otherwise(F.lit(TRAIN))
    )
    reason = (
        F.when(rts.isNull(), F.lit("no release date"))
        .when(rts > end, F.lit("not released yet"))
        .when(rts < days_after(start, settings.lookback_days),
              F.lit("released before the history covers its lookback"))
        .when(closes > end, F.lit("window still open"))
        .when(F.col("period_tracks") < settings.min_period_tracks,
              F.lit("too few observed windows in its period"))
        .otherwise(F.lit("window closed"))
    )
    hit = F.when(role == TRAIN, (F.col("window_streams") > F.col("period_median")).cast("int"))
    return t.select(
        "track_id", "release_date", RELEASE_TS, "window_closes_at", "period_start",
        F.when(role == TRAIN, F.col("window_streams")).alias("window_streams"),
        F.when(role == TRAIN, F.col("period_median")).alias("period_median"),
        hit.alias("hit"), role.alias("role"), reason.alias("reason"),
    )
