"""A few business answers over the gold star schema (printed by the local medallion)."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from soundlake.gold.scd2 import START_AT


def top_artists(fact: DataFrame, dim_artist: DataFrame, n: int = 5) -> DataFrame:
    """Artists by streams; name and genre as they were when streamed (the latest shown)."""
    a = dim_artist.select("artist_id", F.col(START_AT).alias("artist_valid_from"), "artist_name", "genre")
    return (
        fact.join(a, ["artist_id", "artist_valid_from"], "left")
        .groupBy("artist_id")
        .agg(
            F.max_by("artist_name", "streamed_at").alias("artist_name"),
            F.count(F.lit(1)).alias("streams"),
            F.round(F.sum("ms_played") / 3_600_000, 2).alias("hours_played"),
        )
        .orderBy(F.desc("streams"), "artist_id")
        .limit(n)
    )


def streams_by_subscription(fact: DataFrame, dim_user: DataFrame, grain: str = "month") -> DataFrame:
    """Streams per subscription type at stream time, per period (SCD2 at work)."""
    u = dim_user.select("user_id", F.col(START_AT).alias("user_valid_from"), "subscription_type")
    return (
        fact.join(u, ["user_id", "user_valid_from"], "left")
        .groupBy(F.date_trunc(grain, "streamed_at").cast("date").alias("period"), "subscription_type")
        .agg(F.count(F.lit(1)).alias("streams"))
        .orderBy("period", "subscription_type")
    )


def latest_pull_top(fact: DataFrame, dim_track: DataFrame, n: int = 3) -> DataFrame:
    """The latest Spotify pull's best-placed tracks, with the catalogue's name for the track
    where its ISRC matched (the DimTrack version valid at the pull; NULL for the unknown member)."""
    t = dim_track.select("track_id", F.col(START_AT).alias("track_valid_from"),
                         F.col("track_name").alias("catalogue_track_name"))
    latest = fact.agg(F.max("date_key").alias("date_key"))
    return (
        fact.join(latest, "date_key")
        .join(t, ["track_id", "track_valid_from"], "left")
        .select("pull_date", "search_rank", "track_name", "artist_name", "popularity", "isrc",
                "track_id", "catalogue_track_name")
        .orderBy(F.asc_nulls_last("search_rank"), "track_name")
        .limit(n)
    )
