"""The Spotify daily pull in gold: what an analyst wants from it, linked to the star schema.

FactSpotifyTrackDaily: one row per pull date and Spotify track, from `silver.<pull>_changes`
(every pull's rows; `silver.<pull>` keeps only each track's latest). A day with more than one
pull keeps its last; a track listed twice in one pull keeps its best place. The track is matched
to DimTrack by ISRC (Spotify's `external_ids.isrc`, the industry's join between a streaming
service and a label's catalogue; Spotify ids mean nothing to the catalogue), the DimTrack version
valid at the pull, and its artist to the DimArtist version valid then. A pulled track the
catalogue does not have is kept, with the unknown member (-1) as its track and artist: the chart
is the chart, whether or not we own the recording. The unknown member has no row in the SCD2
dimensions (AUTO CDC owns them), so join them with a LEFT JOIN, or filter on `matched`.

FactSpotifyArtistDaily: one row per pull date and Spotify artist, rolled up from the track fact
(tracks in the results, best place, popularity), linked to the DimArtist version of its
best-placed matched track.

`spotify_daily_quality`: one row that fails the update when either fact has two rows for one
grain (by construction it cannot; the check is what keeps it so).
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import Window

from soundlake.gold.expectations import Expectations
from soundlake.gold.fact_stream import valid_at, versions_as_of
from soundlake.gold.needs import SPOTIFY_TRACK_COLUMNS

UNKNOWN = -1
TRACK_GRAIN = ("date_key", "spotify_track_id")
ARTIST_GRAIN = ("date_key", "spotify_artist_id")

TRACK_DAILY_EXPECTATIONS = Expectations(
    drop={
        **{f"{c}_not_null": f"{c} IS NOT NULL" for c in (*TRACK_GRAIN, "track_id", "artist_id")},
        # NULL is allowed: development-mode apps no longer get popularity (February 2026)
        "popularity_0_to_100": "coalesce(popularity BETWEEN 0 AND 100, popularity IS NULL)",
        "search_rank_positive": "coalesce(search_rank >= 1, search_rank IS NULL)",
    },
    warn={
        "matched_to_dim_track": f"track_id <> {UNKNOWN}",
        "artist_version_found": f"artist_id = {UNKNOWN} OR artist_valid_from IS NOT NULL",
    },
)
ARTIST_DAILY_EXPECTATIONS = Expectations(
    drop={
        **{f"{c}_not_null": f"{c} IS NOT NULL" for c in (*ARTIST_GRAIN, "artist_id")},
        "max_popularity_0_to_100": "coalesce(max_popularity BETWEEN 0 AND 100, max_popularity IS NULL)",
    },
    warn={"matched_to_dim_artist": f"artist_id <> {UNKNOWN}"},
)
QUALITY_EXPECTATIONS = Expectations(fail={
    "one_row_per_pull_date_and_track": "coalesce(track_duplicates = 0, true)",
    "one_row_per_pull_date_and_artist": "coalesce(artist_duplicates = 0, true)",
})


def _isrc(c: Column) -> Column:
    """ISRCs compared as the standard writes them: 12 characters, upper case, no hyphens."""
    return F.upper(F.regexp_replace(c, "[^A-Za-z0-9]", ""))


def _first(df: DataFrame, keys: tuple[str, ...], *order: Column) -> DataFrame:
    w = Window.partitionBy(*keys).orderBy(*order)
    return df.withColumn("__n", F.row_number().over(w)).where("__n = 1").drop("__n")


def fact_spotify_track_daily(pulls: DataFrame, dim_track: DataFrame, dim_artist: DataFrame) -> DataFrame:
    at = F.col("_loaded_at")
    p = pulls.select(*SPOTIFY_TRACK_COLUMNS).withColumn("pull_date", F.to_date(at))
    p = _first(p, ("pull_date", "spotify_track_id"), at.desc(),
               F.col("search_rank").asc_nulls_last(), F.col("isrc").asc_nulls_last())
    t = versions_as_of(dim_track, "track_id", "track", extra=("isrc", "artist_id"))
    on_isrc = _isrc(F.col("isrc")) == _isrc(F.col("__track_isrc"))
    f = p.join(t, on_isrc & (at >= F.col("__track_from")) & (at < F.col("__track_to")), "left")
    # one recording under two catalogue ids (a single and its album): the lowest id, every day
    f = _first(f, ("pull_date", "spotify_track_id"), F.col("__track_key").asc_nulls_last())
    f = f.withColumn("__artist_id", F.col("__track_artist_id"))
    f = f.join(versions_as_of(dim_artist, "artist_id", "artist"),
               valid_at(at, F.col("__artist_id"), "artist"), "left")
    return f.select(
        F.date_format("pull_date", "yyyyMMdd").cast("int").alias("date_key"),
        "pull_date",
        at.alias("pulled_at"),
        "spotify_track_id",
        "isrc",
        "search_rank",
        "popularity",
        F.coalesce(F.col("__track_key"), F.lit(UNKNOWN)).alias("track_id"),
        "track_valid_from",
        F.coalesce(F.col("__artist_id"), F.lit(UNKNOWN)).alias("artist_id"),
        "artist_valid_from",
        "spotify_artist_id",
        "track_name",
        "artist_name",
        F.col("__track_key").isNotNull().alias("matched"),
    )


def fact_spotify_artist_daily(track_daily: DataFrame) -> DataFrame:
    matched = F.col("artist_id") != F.lit(UNKNOWN)
    rank = F.coalesce(F.col("search_rank"), F.lit(2**31 - 1))
    best = F.min(F.when(matched, F.struct(rank.alias("r"), F.col("spotify_track_id").alias("t"),
                                          F.col("artist_id").alias("a"),
                                          F.col("artist_valid_from").alias("v"))))
    g = track_daily.groupBy("date_key", "pull_date", "spotify_artist_id").agg(
        F.min("artist_name").alias("artist_name"),
        F.count(F.lit(1)).alias("tracks_in_results"),
        F.min("search_rank").alias("best_rank"),
        F.max("popularity").alias("max_popularity"),
        F.avg("popularity").alias("avg_popularity"),
        best.alias("__best"),
    )
    return g.select(
        "date_key", "pull_date", "spotify_artist_id", "artist_name", "tracks_in_results",
        "best_rank", "max_popularity", "avg_popularity",
        F.coalesce(F.col("__best.a"), F.lit(UNKNOWN)).alias("artist_id"),
        F.col("__best.v").alias("artist_valid_from"),
        F.col("__best.a").isNotNull().alias("matched"),
    )


def _duplicates(fact: DataFrame, grain: tuple[str, ...], prefix: str) -> DataFrame:
    return fact.agg(
        F.count(F.lit(1)).alias(f"{prefix}_rows"),
        (F.count(F.lit(1)) - F.count_distinct(*grain)).alias(f"{prefix}_duplicates"),
        F.sum(F.col("matched").cast("long")).alias(f"{prefix}_matched"),
    )


def spotify_daily_quality(track_daily: DataFrame, artist_daily: DataFrame) -> DataFrame:
    """One row: rows, rows beyond one per grain, and matched rows, of both facts."""
    q = _duplicates(track_daily, TRACK_GRAIN, "track").crossJoin(
        _duplicates(artist_daily, ARTIST_GRAIN, "artist"))
    return q.select(*[F.coalesce(F.col(c), F.lit(0)).alias(c) for c in q.columns])
