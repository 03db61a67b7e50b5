"""What a track looked like when it was released: the model's only inputs.

Every feature is known at the release instant (the release date, 00:00 UTC):
  * the track, artist and album as the SCD2 versions valid at that instant (a key's first
    version counts from the beginning of time, as in FactStream);
  * the release date's calendar attributes from DimDate;
  * counts over the artist's streams in windows that end at release at the latest
    (`StreamFeature`, checked by `check_stream_features`: a window that reaches past the
    release is refused with `LeakageError`);
  * the artist's earlier releases (release dates before this one).
Nothing here reads a stream of the track itself: its streams after release are the target.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from soundlake.gold.fact_stream import valid_at, versions_as_of
from soundlake.gold.scd2 import END_AT

RELEASE_TS = "release_ts"
TRACK_COLUMNS = ("artist_id", "album_id", "duration_sec", "duration_flag", "explicit",
                 "danceability", "energy", "tempo_bpm")
MEASURES = ("streams", "listeners")


class LeakageError(ValueError):
    """A feature would read data from after the moment it is meant to predict from."""


@dataclass(frozen=True)
class StreamFeature:
    """A count over the streams of the track's artist in [release + from_days, release + to_days).

    `from_days` None means from the first stream there is. `to_days` must be <= 0: a feature
    may only look at streams played before the release.
    """

    name: str
    measure: str  # streams | listeners (distinct users)
    from_days: int | None
    to_days: int = 0


def default_stream_features(lookback_days: int) -> tuple[StreamFeature, ...]:
    return (
        StreamFeature("artist_streams_lookback", "streams", -lookback_days, 0),
        StreamFeature("artist_listeners_lookback", "listeners", -lookback_days, 0),
        StreamFeature("artist_streams_before", "streams", None, 0),
    )


def check_stream_features(features: tuple[StreamFeature, ...]) -> None:
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ValueError(f"stream features: duplicate names in {names}")
    for f in features:
        if f.to_days > 0:
            raise LeakageError(
                f"stream feature {f.name!r} reads streams up to {f.to_days} day(s) after release; "
                "a feature may only read streams played before the release (to_days <= 0)")
        if f.measure not in MEASURES:
            raise ValueError(f"stream feature {f.name!r}: measure must be one of {MEASURES}, got {f.measure!r}")
        if f.from_days is not None and f.from_days >= f.to_days:
            raise ValueError(f"stream feature {f.name!r}: from_days {f.from_days} must be before to_days {f.to_days}")


def days_after(ts: Column | str, days: int) -> Column:
    """`ts` shifted by a whole number of days (negative: earlier)."""
    col = F.col(ts) if isinstance(ts, str) else ts
    return col + F.make_interval(days=F.lit(int(days)))


def catalogue(dim_track: DataFrame) -> DataFrame:
    """The current version of every track: what we know today about its release and album."""
    return dim_track.where(F.col(END_AT).isNull()).select("track_id", "artist_id", "album_id", "release_date")


def releases(dim_track: DataFrame) -> DataFrame:
    """One row per track: its release date (as known today) and release instant (00:00 UTC)."""
    return catalogue(dim_track).select("track_id", "release_date",
                                       F.to_timestamp("release_date").alias(RELEASE_TS))


def at_release(rel: DataFrame, dim_track: DataFrame, dim_artist: DataFrame, dim_album: DataFrame) -> DataFrame:
    """Track, artist and album attributes from the versions valid at each track's release."""
    ts = F.col(RELEASE_TS)
    t = versions_as_of(dim_track, "track_id", "track", extra=TRACK_COLUMNS)
    a = versions_as_of(dim_artist, "artist_id", "artist", extra=("genre", "country"))
    al = versions_as_of(dim_album, "album_id", "album", extra=("release_date",))
    f = rel.join(t, valid_at(ts, F.col("track_id"), "track"), "left")
    f = f.select("track_id", "release_date", RELEASE_TS,
                 *[F.col(f"__track_{c}").alias(c) for c in TRACK_COLUMNS])
    f = f.join(a, valid_at(ts, F.col("artist_id"), "artist"), "left")
    f = f.join(al, valid_at(ts, F.col("album_id"), "album"), "left")
    return f.select(
        "track_id", "release_date", RELEASE_TS, "artist_id", "album_id",
        "duration_sec", "duration_flag", F.col("explicit").cast("double").alias("explicit"),
        *[F.col(c).cast("double").alias(c) for c in ("danceability", "energy", "tempo_bpm")],
        F.col("__artist_genre").alias("genre"), F.col("__artist_country").alias("artist_country"),
        F.datediff("release_date", "__album_release_date").alias("days_from_album_release"),
    )


def calendar(rel: DataFrame, dim_date: DataFrame) -> DataFrame:
    d = dim_date.select(
        "date_key", F.col("year").alias("release_year"), F.col("month").alias("release_month"),
        F.col("day_of_week").alias("release_day_of_week"),
        F.col("is_weekend").cast("double").alias("release_is_weekend"))
    key = F.date_format("release_date", "yyyyMMdd").cast("int")
    return rel.select("track_id", key.alias("date_key")).join(d, "date_key", "left").drop("date_key")


def artist_history(rel_with_artist: DataFrame, tracks_now: DataFrame) -> DataFrame:
    """The artist's releases before this one: how many, and days since the latest."""
    mine = rel_with_artist.select("track_id", "artist_id", "release_date")
    others = tracks_now.select(F.col("artist_id").alias("__o_artist"),
                              F.col("release_date").alias("__o_release"))
    j = mine.join(others, (F.col("artist_id") == F.col("__o_artist"))
                  & (F.col("__o_release") < F.col("release_date")), "left")
    return j.groupBy("track_id", "release_date").agg(
        F.count("__o_release").cast("double").alias("artist_prior_releases"),
        F.max("__o_release").alias("__last"),
    ).select("track_id", "artist_prior_releases",
             F.datediff("release_date", "__last").cast("double").alias("days_since_artist_release"))


def album_size(rel_with_album: DataFrame, tracks_now: DataFrame) -> DataFrame:
    """Tracks of the same album released by this track's release date (itself included)."""
    others = tracks_now.select(F.col("album_id").alias("__o_album"), F.col("release_date").alias("__o_release"))
    j = rel_with_album.select("track_id", "album_id", "release_date").join(
        others, (F.col("album_id") == F.col("__o_album")) & (F.col("__o_release") <= F.col("release_date")), "left")
    return j.groupBy("track_id").agg(F.count("__o_release").cast("double").alias("album_tracks"))


def stream_features(tracks: DataFrame, fact: DataFrame, features: tuple[StreamFeature, ...]) -> DataFrame:
    """Counts over the artist's streams before release, one column per feature (0 when none)."""
    check_stream_features(features)
    s = fact.select(F.col("artist_id").alias("__s_artist"), "streamed_at", "user_id")
    rts = F.col(RELEASE_TS)
    on = (F.col("artist_id") == F.col("__s_artist")) & (F.col("streamed_at") < days_after(
        rts, max(f.to_days for f in features)))
    froms = [f.from_days for f in features]
    if froms and None not in froms:
        on = on & (F.col("streamed_at") >= days_after(rts, min(froms)))  # type: ignore[type-var]
    j = tracks.select("track_id", "artist_id", RELEASE_TS).join(s, on, "left")
    aggs = []
    for f in features:
        inside = F.col("streamed_at") < days_after(rts, f.to_days)
        if f.from_days is not None:
            inside = inside & (F.col("streamed_at") >= days_after(rts, f.from_days))
        if f.measure == "streams":
            aggs.append(F.count(F.when(inside, F.lit(1))).cast("double").alias(f.name))
        else:
            aggs.append(F.count_distinct(F.when(inside, F.col("user_id"))).cast("double").alias(f.name))
    return j.groupBy("track_id").agg(*aggs)


def release_features(
    tracks: DataFrame,
    dim_track: DataFrame,
    dim_artist: DataFrame,
    dim_album: DataFrame,
    dim_date: DataFrame,
    fact: DataFrame,
    features: tuple[StreamFeature, ...],
) -> DataFrame:
    """Every model input for `tracks` (track_id, release_date, release_ts), one row per track."""
    check_stream_features(features)
    base = at_release(tracks, dim_track, dim_artist, dim_album)
    now = catalogue(dim_track)
    return (
        base.join(calendar(tracks, dim_date), "track_id", "left")
        .join(artist_history(base, now), "track_id", "left")
        .join(album_size(base, now), "track_id", "left")
        .join(stream_features(base, fact, features), "track_id", "left")
    )
