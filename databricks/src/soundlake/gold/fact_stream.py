"""FactStream: each stream joined to the dimension versions valid when it was played.

A version is valid on [__START_AT, __END_AT). A key's first version is taken as valid
from the beginning of time: a stream played before the first change we know of gets the
earliest version we have, rather than no version at all. The fact keeps each dimension's
natural key and `<dim>_valid_from` (that version's __START_AT): together they are the
version's key in the dimension table.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import Window

from soundlake.config import settings
from soundlake.gold.expectations import Expectations
from soundlake.gold.needs import STREAM_COLUMNS
from soundlake.gold.scd2 import END_AT, START_AT

BEGINNING = "0001-01-01 00:00:00"
END_OF_TIME = "9999-12-31 23:59:59"
REFERENCES = ("user", "track", "artist", "album")


def _ms_played() -> dict[str, str]:
    lo, hi = settings().plausible_ms_played
    return {"plausible_ms_played": f"coalesce(ms_played BETWEEN {lo} AND {hi}, false)"}


FACT_EXPECTATIONS = Expectations(
    drop={
        "stream_id_not_null": "stream_id IS NOT NULL",
        "streamed_at_not_null": "streamed_at IS NOT NULL",
        "user_id_not_null": "user_id IS NOT NULL",
        "track_id_not_null": "track_id IS NOT NULL",
    },
    warn={
        **_ms_played(),
        **{f"{r}_version_found": f"{r}_valid_from IS NOT NULL" for r in REFERENCES},
    },
)


def quality_expectations() -> Expectations:
    ratio = settings().max_broken_reference_ratio
    return Expectations(fail={"broken_references_below_threshold":
                              f"coalesce(broken_ratio <= {ratio}, true)"})


def versions_as_of(dim: DataFrame, key: str, prefix: str, extra: tuple[str, ...] = ()) -> DataFrame:
    """A dimension's versions with the interval used for the point-in-time join."""
    first = F.min(START_AT).over(Window.partitionBy(key))
    return dim.select(
        F.col(key).alias(f"__{prefix}_key"),
        F.col(START_AT).alias(f"{prefix}_valid_from"),
        F.when(F.col(START_AT) == first, F.lit(BEGINNING).cast("timestamp")).otherwise(F.col(START_AT)).alias(f"__{prefix}_from"),
        F.coalesce(F.col(END_AT), F.lit(END_OF_TIME).cast("timestamp")).alias(f"__{prefix}_to"),
        *[F.col(c).alias(f"__{prefix}_{c}") for c in extra],
    )


def valid_at(ts: Column, key: Column, prefix: str) -> Column:
    return (
        (key == F.col(f"__{prefix}_key"))
        & (ts >= F.col(f"__{prefix}_from"))
        & (ts < F.col(f"__{prefix}_to"))
    )


def fact_stream(
    streams: DataFrame,
    dim_user: DataFrame,
    dim_track: DataFrame,
    dim_artist: DataFrame,
    dim_album: DataFrame,
) -> DataFrame:
    s = streams.select(*STREAM_COLUMNS)
    ts = F.col("streamed_at")
    u = versions_as_of(dim_user, "user_id", "user")
    t = versions_as_of(dim_track, "track_id", "track", extra=("artist_id", "album_id"))
    a = versions_as_of(dim_artist, "artist_id", "artist")
    al = versions_as_of(dim_album, "album_id", "album")
    f = s.join(u, valid_at(ts, F.col("user_id"), "user"), "left")
    f = f.join(t, valid_at(ts, F.col("track_id"), "track"), "left")
    f = f.withColumn("artist_id", F.col("__track_artist_id")).withColumn(
        "album_id", F.col("__track_album_id"))
    f = f.join(a, valid_at(ts, F.col("artist_id"), "artist"), "left")
    f = f.join(al, valid_at(ts, F.col("album_id"), "album"), "left")
    return f.select(
        "stream_id",
        F.date_format("streamed_at", "yyyyMMdd").cast("int").alias("date_key"),
        "streamed_at",
        "user_id", "user_valid_from",
        "track_id", "track_valid_from",
        "artist_id", "artist_valid_from",
        "album_id", "album_valid_from",
        "ms_played", "device_type", "updated_at",
    )


def fact_stream_quality(fact: DataFrame) -> DataFrame:
    """One row: how many facts miss a dimension version (checked against a threshold)."""
    broken = ~(F.col("user_valid_from").isNotNull() & F.col("track_valid_from").isNotNull()
               & F.col("artist_valid_from").isNotNull() & F.col("album_valid_from").isNotNull())
    return fact.agg(
        F.count(F.lit(1)).alias("facts"),
        F.sum(broken.cast("long")).alias("broken_references"),
    ).select(
        "facts",
        F.coalesce("broken_references", F.lit(0)).alias("broken_references"),
        F.try_divide(F.coalesce("broken_references", F.lit(0)), F.col("facts")).alias("broken_ratio"),
    )
