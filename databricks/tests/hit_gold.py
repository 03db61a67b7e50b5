"""Small gold tables with a planted hit signal, made directly (no medallion), for the hit tests.

A track's stream rate after release is exp(logit) with
    logit = artist popularity + 1.2 * (danceability - 0.5) + 0.6 * [genre == pop]
            - 0.6 * [duration_sec >= 300] + noise
so the planted features are the artist's popularity (seen by the model only through the
artist's streams before release), danceability, genre and duration. Energy, tempo, explicit
and the artist's country are noise. Each artist also has a catalogue track, released before
the history, streamed at a rate set by the artist's popularity.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from soundlake.gold.dim_date import dim_date
from soundlake.ml.dataset import GoldTables

START = dt.datetime(2026, 1, 1)
PLANTED = {"danceability", "genre", "duration_sec", "duration_flag",
           "artist_streams_lookback", "artist_listeners_lookback", "artist_streams_before"}
GENRES = ["pop", "rock", "jazz", "folk", "metal", "ambient"]
COUNTRIES = ["SE", "US", "BR", "JP", "NG"]

TS, D, I, S, DB, B = T.TimestampType(), T.DateType(), T.IntegerType(), T.StringType(), T.DoubleType(), T.BooleanType()
DIM_TRACK = T.StructType([T.StructField(n, t) for n, t in [
    ("track_id", I), ("track_name", S), ("artist_id", I), ("album_id", I), ("duration_sec", I),
    ("duration_flag", S), ("release_date", D), ("explicit", B), ("danceability", DB), ("energy", DB),
    ("tempo_bpm", DB), ("updated_at", TS), ("__START_AT", TS), ("__END_AT", TS)]])
DIM_ARTIST = T.StructType([T.StructField(n, t) for n, t in [
    ("artist_id", I), ("artist_name", S), ("genre", S), ("country", S), ("updated_at", TS),
    ("__START_AT", TS), ("__END_AT", TS)]])
DIM_ALBUM = T.StructType([T.StructField(n, t) for n, t in [
    ("album_id", I), ("album_name", S), ("artist_id", I), ("release_date", D), ("updated_at", TS),
    ("__START_AT", TS), ("__END_AT", TS)]])
FACT = T.StructType([T.StructField(n, t) for n, t in [
    ("stream_id", T.LongType()), ("streamed_at", TS), ("user_id", I), ("track_id", I), ("artist_id", I)]])


def gold_frames(seed: int = 0, artists: int = 40, tracks: int = 700, days: int = 330,
                strength: float = 1.0) -> dict[str, pd.DataFrame]:
    """Pandas versions of the gold tables (one SCD2 version per key, valid from before START)."""
    rng = np.random.default_rng(seed)
    t0 = START - dt.timedelta(days=60)
    pop = rng.normal(0, 0.8, artists)
    art = pd.DataFrame({
        "artist_id": np.arange(1, artists + 1, dtype="int32"),
        "artist_name": [f"artist {i}" for i in range(1, artists + 1)],
        "genre": rng.choice(GENRES, artists), "country": rng.choice(COUNTRIES, artists),
        "updated_at": t0, "__START_AT": t0, "__END_AT": pd.NaT})
    n_new = tracks - artists
    release_day = np.sort(rng.integers(0, days, n_new))
    new = pd.DataFrame({
        "artist_id": rng.integers(1, artists + 1, n_new),
        "release_date": [(START + dt.timedelta(days=int(d))).date() for d in release_day]})
    old = pd.DataFrame({"artist_id": np.arange(1, artists + 1),
                        "release_date": [(START - dt.timedelta(days=400)).date()] * artists})
    trk = pd.concat([old, new], ignore_index=True)
    n = len(trk)
    trk["track_id"] = np.arange(1, n + 1, dtype="int32")
    trk["album_id"] = trk["track_id"]
    trk["track_name"] = [f"track {i}" for i in trk["track_id"]]
    trk["duration_sec"] = rng.choice([120, 170, 200, 230, 260, 320, 380], n).astype("int32")
    trk["duration_flag"] = np.where(trk["duration_sec"] < 150, "short",
                                    np.where(trk["duration_sec"] >= 300, "long", "medium"))
    trk["explicit"] = rng.random(n) < 0.2
    trk["danceability"] = rng.random(n).round(3)
    trk["energy"] = rng.random(n).round(3)
    trk["tempo_bpm"] = rng.uniform(60, 180, n).round(2)
    trk["updated_at"], trk["__START_AT"], trk["__END_AT"] = t0, t0, pd.NaT
    trk["artist_id"] = trk["artist_id"].astype("int32")
    genre = art.set_index("artist_id")["genre"].reindex(trk["artist_id"]).to_numpy()
    logit = (pop[trk["artist_id"] - 1]
             + strength * (1.2 * (trk["danceability"] - 0.5) + 0.6 * (genre == "pop")
                           - 0.6 * (trk["duration_sec"] >= 300))
             + rng.normal(0, 0.5, n))
    alb = pd.DataFrame({"album_id": trk["album_id"], "album_name": trk["track_name"],
                        "artist_id": trk["artist_id"], "release_date": trk["release_date"],
                        "updated_at": t0, "__START_AT": t0, "__END_AT": pd.NaT})

    streams = []
    end = START + dt.timedelta(days=days)
    for i, r in trk.iterrows():
        rel = dt.datetime.combine(r["release_date"], dt.time())
        if rel < START:  # catalogue: steady over the whole history
            k = rng.poisson(np.exp(pop[r["artist_id"] - 1]) * 0.6 * days)
            at = [START + dt.timedelta(seconds=float(s)) for s in rng.uniform(0, days * 86400, k)]
        else:            # a release: a burst that decays (20 days), cut at the end of history
            k = rng.poisson(12 * np.exp(logit[i]))
            at = [rel + dt.timedelta(days=float(o)) for o in rng.exponential(20, k)]
            at = [a for a in at if a < end]
        streams += [(a, int(r["track_id"]), int(r["artist_id"])) for a in at]
    fact = pd.DataFrame(streams, columns=["streamed_at", "track_id", "artist_id"])
    fact = fact.sort_values("streamed_at", kind="stable").reset_index(drop=True)
    fact.insert(0, "stream_id", np.arange(1, len(fact) + 1, dtype="int64"))
    fact["user_id"] = rng.integers(1, 400, len(fact)).astype("int32")
    fact = fact[["stream_id", "streamed_at", "user_id", "track_id", "artist_id"]]
    order = [f.name for f in DIM_TRACK.fields]
    return {"dim_track": trk[order], "dim_artist": art, "dim_album": alb, "fact_stream": fact}


def to_spark(spark: SparkSession, frames: dict[str, pd.DataFrame]) -> GoldTables:
    def df(name: str, schema: T.StructType) -> DataFrame:
        return spark.createDataFrame(frames[name][[f.name for f in schema.fields]], schema)

    fact = df("fact_stream", FACT)
    dates = dim_date(fact, (START - dt.timedelta(days=500)).date(), (START + dt.timedelta(days=800)).date())
    return GoldTables(df("dim_track", DIM_TRACK), df("dim_artist", DIM_ARTIST), df("dim_album", DIM_ALBUM),
                      dates, fact)


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def hand_made(streams: list[tuple[str, int, int]], artist_versions: list[tuple[int, str, str, str | None]],
              tracks: list[tuple[int, int, str]]) -> dict[str, pd.DataFrame]:
    """Gold frames from explicit rows: streams (at, track_id, artist_id); artist versions
    (artist_id, genre, start, end or None); tracks (track_id, artist_id, release date)."""
    t0 = ts("2025-06-01")
    art = pd.DataFrame([{"artist_id": a, "artist_name": f"artist {a}", "genre": g, "country": "SE",
                         "updated_at": ts(s), "__START_AT": ts(s), "__END_AT": ts(e) if e else pd.NaT}
                        for a, g, s, e in artist_versions])
    trk = pd.DataFrame([{"track_id": t, "track_name": f"track {t}", "artist_id": a, "album_id": t,
                         "duration_sec": 200, "duration_flag": "medium",
                         "release_date": dt.date.fromisoformat(r), "explicit": False, "danceability": 0.5,
                         "energy": 0.5, "tempo_bpm": 120.0, "updated_at": t0, "__START_AT": t0,
                         "__END_AT": pd.NaT} for t, a, r in tracks])
    alb = pd.DataFrame({"album_id": trk["album_id"], "album_name": trk["track_name"],
                        "artist_id": trk["artist_id"], "release_date": trk["release_date"],
                        "updated_at": t0, "__START_AT": t0, "__END_AT": pd.NaT})
    fact = pd.DataFrame([{"stream_id": i + 1, "streamed_at": ts(at), "user_id": i % 3 + 1, "track_id": t,
                          "artist_id": a} for i, (at, t, a) in enumerate(streams)])
    for df, cols in ((art, ("artist_id",)), (trk, ("track_id", "artist_id", "album_id", "duration_sec")),
                     (alb, ("album_id", "artist_id")), (fact, ("user_id", "track_id", "artist_id"))):
        for c in cols:
            df[c] = df[c].astype("int32")
    return {"dim_track": trk, "dim_artist": art, "dim_album": alb, "fact_stream": fact}


_DATASETS: dict[int, object] = {}


def planted_dataset(spark: SparkSession, seed: int):
    """The HitDataset of `gold_frames(seed)` under the default settings, built once per session."""
    from soundlake.ml.dataset import build_dataset
    from soundlake.ml.settings import hit_settings

    if seed not in _DATASETS:
        _DATASETS[seed] = build_dataset(to_spark(spark, gold_frames(seed)), hit_settings())
    return _DATASETS[seed]
