"""The gold catalogue as the question box sees it: tables, columns, Spark types, a line each.

Names and types are not written down here: they come from the gold definitions themselves,
by running the very functions the pipeline runs (gold/dims.py, dim_date, fact_stream,
fact_stream_quality, and gold/spotify_daily.py's three tables) over empty inputs shaped like
silver, so Spark works out every type without reading a row. Only the one-line descriptions
are written here, and generation fails when a gold column has none (or a description names a
column gold no longer has).

The Spotify tables exist only in a deployment whose catalog has the Spotify daily pull (the
silver table gold/needs.py names; the bundle's catalog mutator switches the pipeline on it).
They carry `"requires": {"silver": "spotify_tracks"}` in the JSON, and the question box offers
them only when its catalog has that silver table. Their input is shaped like the catalog's pull
when it has one, else like the Spotify preset's (examples/sources.soundlake.yaml).

    python -m soundlake.serving.catalog --write shared/ask/goldSchema.json   # regenerate
    python -m soundlake.serving.catalog --check shared/ask/goldSchema.json   # drift check

The TypeScript question box reads that JSON (prompt and guard allow-list); a pytest compares
it with a fresh generation, and the endpoint test compares it with the live tables.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

SCHEMA = "gold"

TABLES: dict[str, str] = {
    "fact_stream": "One row per stream (a play of a track by a user), joined to the dimension "
                   "versions valid when it was played.",
    "dim_user": "Users, SCD Type 2: one row per version of a user; a new version when the "
                "subscription type, country or name changes.",
    "dim_artist": "Artists, SCD Type 2: one row per version; a new version when genre, "
                  "country or name changes.",
    "dim_album": "Albums, SCD Type 2: one row per version.",
    "dim_track": "Tracks, SCD Type 2: one row per version, with audio features.",
    "dim_date": "Calendar: one row per day.",
    "fact_stream_quality": "One row: how many streams miss a dimension version.",
    "fact_spotify_track_daily": "Spotify daily search pull: one row per pull day and Spotify track, "
                                "matched to dim_track by ISRC; unmatched tracks have track_id and "
                                "artist_id -1 (no dimension row: LEFT JOIN, or filter on matched).",
    "fact_spotify_artist_daily": "Spotify daily search pull rolled up per pull day and Spotify artist, "
                                 "linked to dim_artist through its best-placed matched track "
                                 "(-1 when none matched).",
    "spotify_daily_quality": "One row: rows, duplicate rows per grain and matched rows of the two "
                             "Spotify daily facts.",
}

_VERSION = {
    "__START_AT": "When this version became valid (the updated_at of its first change).",
    "__END_AT": "When the next version replaced it; NULL for the current version.",
    "updated_at": "When the source last changed this row (within the version).",
}

COLUMNS: dict[str, dict[str, str]] = {
    "fact_stream": {
        "stream_id": "Stream identifier.",
        "date_key": "Day of the stream as yyyymmdd; joins dim_date.date_key.",
        "streamed_at": "When the stream started (UTC).",
        "user_id": "The listening user; with user_valid_from joins dim_user (user_id, __START_AT).",
        "user_valid_from": "__START_AT of the dim_user version valid at streamed_at.",
        "track_id": "The track played; with track_valid_from joins dim_track.",
        "track_valid_from": "__START_AT of the dim_track version valid at streamed_at.",
        "artist_id": "The track's artist at stream time; with artist_valid_from joins dim_artist.",
        "artist_valid_from": "__START_AT of the dim_artist version valid at streamed_at.",
        "album_id": "The track's album at stream time; with album_valid_from joins dim_album.",
        "album_valid_from": "__START_AT of the dim_album version valid at streamed_at.",
        "ms_played": "Milliseconds played.",
        "device_type": "mobile, desktop, web or smart_speaker.",
        "updated_at": "When the source last changed this stream row.",
    },
    "dim_user": {
        "user_id": "User identifier (several rows per user: one per version).",
        "user_name": "User name (personal data).",
        "country": "ISO country code.",
        "subscription_type": "free, premium, family or student.",
        "signup_date": "Day the user signed up.",
        **_VERSION,
    },
    "dim_artist": {
        "artist_id": "Artist identifier (one row per version).",
        "artist_name": "Artist name (punctuation removed).",
        "genre": "Main genre.",
        "country": "ISO country code.",
        **_VERSION,
    },
    "dim_album": {
        "album_id": "Album identifier (one row per version).",
        "album_name": "Album title.",
        "artist_id": "The album's artist.",
        "release_date": "Release day.",
        **_VERSION,
    },
    "dim_track": {
        "track_id": "Track identifier (one row per version).",
        "track_name": "Track title.",
        "artist_id": "The track's artist.",
        "album_id": "The track's album.",
        "duration_sec": "Length in seconds.",
        "duration_flag": "short (< 150 s), medium or long (>= 300 s).",
        "release_date": "Release day.",
        "explicit": "Explicit lyrics.",
        "danceability": "0 to 1.",
        "energy": "0 to 1.",
        "tempo_bpm": "Beats per minute.",
        "isrc": "The recording's ISRC (International Standard Recording Code).",
        **_VERSION,
    },
    "dim_date": {
        "date_key": "yyyymmdd.",
        "date": "The day.",
        "year": "Calendar year.",
        "quarter": "1 to 4.",
        "month": "1 to 12.",
        "month_name": "January ... December.",
        "day_of_month": "1 to 31.",
        "day_of_week": "ISO: Monday = 1 ... Sunday = 7.",
        "day_name": "Monday ... Sunday.",
        "iso_week": "ISO week number.",
        "is_weekend": "Saturday or Sunday.",
    },
    "fact_stream_quality": {
        "facts": "Streams in fact_stream.",
        "broken_references": "Streams without a version of some dimension.",
        "broken_ratio": "broken_references / facts.",
    },
    "fact_spotify_track_daily": {
        "date_key": "Pull day as yyyymmdd; joins dim_date.date_key.",
        "pull_date": "Day of the pull (UTC); the day's last pull is kept.",
        "pulled_at": "When the kept pull ran (UTC).",
        "spotify_track_id": "Spotify track id.",
        "isrc": "The recording's ISRC as Spotify gives it (matched to dim_track.isrc).",
        "search_rank": "Place in the day's search results, 1 = first (best place when listed twice).",
        "popularity": "Spotify popularity 0 to 100; NULL when the app no longer receives it.",
        "track_id": "Matched dim_track id, -1 when the catalogue has no track with this ISRC.",
        "track_valid_from": "__START_AT of the dim_track version valid at the pull; NULL when unmatched.",
        "artist_id": "The matched track's artist (joins dim_artist with artist_valid_from), -1 when unmatched.",
        "artist_valid_from": "__START_AT of the dim_artist version valid at the pull; NULL when unmatched.",
        "spotify_artist_id": "Spotify id of the track's first artist.",
        "track_name": "Track title as Spotify gives it.",
        "artist_name": "First artist's name as Spotify gives it.",
        "matched": "The ISRC matched a dim_track version valid at the pull.",
    },
    "fact_spotify_artist_daily": {
        "date_key": "Pull day as yyyymmdd; joins dim_date.date_key.",
        "pull_date": "Day of the pull (UTC).",
        "spotify_artist_id": "Spotify artist id.",
        "artist_name": "Artist name as Spotify gives it.",
        "tracks_in_results": "The artist's tracks in the day's search results.",
        "best_rank": "Best search_rank of the artist's tracks that day.",
        "max_popularity": "Highest popularity of the artist's tracks that day (NULL when none has one).",
        "avg_popularity": "Average popularity of the artist's tracks that day.",
        "artist_id": "dim_artist id through the best-placed matched track, -1 when none matched.",
        "artist_valid_from": "__START_AT of that dim_artist version; NULL when unmatched.",
        "matched": "Some track of the artist matched dim_track.",
    },
    "spotify_daily_quality": {
        "track_rows": "Rows in fact_spotify_track_daily.",
        "track_duplicates": "Rows beyond one per (date_key, spotify_track_id); always 0.",
        "track_matched": "Rows of fact_spotify_track_daily matched to dim_track.",
        "artist_rows": "Rows in fact_spotify_artist_daily.",
        "artist_duplicates": "Rows beyond one per (date_key, spotify_artist_id); always 0.",
        "artist_matched": "Rows of fact_spotify_artist_daily matched to dim_artist.",
    },
}

# Tables only some deployments have: table -> what it requires of the deployment's catalog.
REQUIRES: dict[str, dict[str, str]] = {
    t: {"silver": "spotify_tracks"}
    for t in ("fact_spotify_track_daily", "fact_spotify_artist_daily", "spotify_daily_quality")
}
PRESET = Path(__file__).resolve().parents[4] / "examples" / "sources.soundlake.yaml"


def gold_schemas(spark: SparkSession, catalog=None) -> dict[str, StructType]:
    """Every gold table's schema, from the gold functions over empty inputs shaped like the
    silver tables of the table catalog (their declared contracts and transforms)."""
    from soundlake.catalog import load_catalog
    from soundlake.gold import needs
    from soundlake.gold.dim_date import dim_date
    from soundlake.gold.dims import DIMENSIONS
    from soundlake.gold.fact_stream import fact_stream, fact_stream_quality
    from soundlake.gold.scd2 import END_AT, START_AT
    from soundlake.silver.ingest import changes_schema, silver_schema

    catalog = catalog or load_catalog()
    needs.check(catalog)
    by_silver = {name: t.bronze_table() for name, t in catalog.by_silver_name().items()
                 if name in needs.silver_inputs()}  # gold's inputs (their contracts declared)

    def empty(schema: StructType) -> DataFrame:
        return spark.createDataFrame([], schema)

    out: dict[str, StructType] = {}
    dims: dict[str, DataFrame] = {}
    for name, spec in DIMENSIONS.items():
        changes = empty(changes_schema(spark, by_silver[spec.silver])).select(*spec.columns)
        seq = changes.schema[spec.sequence_by].dataType
        schema = StructType(list(changes.schema.fields)).add(START_AT, seq).add(END_AT, seq)
        out[name] = schema
        dims[name] = empty(schema)
    day = dt.date(2026, 1, 1)
    streams = empty(silver_schema(spark, by_silver["streams"]))
    out["dim_date"] = dim_date(streams, day, day).schema
    fact = fact_stream(streams, dims["dim_user"], dims["dim_track"], dims["dim_artist"], dims["dim_album"])
    out["fact_stream"] = fact.schema
    out["fact_stream_quality"] = fact_stream_quality(fact).schema
    out.update(_spotify_schemas(spark, catalog, dims["dim_track"], dims["dim_artist"]))
    return out


def _spotify_schemas(spark: SparkSession, catalog, dim_track: DataFrame,
                     dim_artist: DataFrame) -> dict[str, StructType]:
    """The Spotify daily tables, over an empty `silver.<pull>_changes` shaped like the catalog's
    pull, or the preset's where the catalog has none."""
    from soundlake.catalog import parse_catalog
    from soundlake.gold import needs
    from soundlake.gold.spotify_daily import (
        fact_spotify_artist_daily,
        fact_spotify_track_daily,
        spotify_daily_quality,
    )
    from soundlake.silver.ingest import changes_schema

    if not needs.spotify_pull(catalog):
        catalog = parse_catalog(PRESET.read_text(), str(PRESET))
    entry = catalog.by_silver_name()[needs.SPOTIFY_TRACKS]
    # A pull's contract is held from its first bronze slice: the declared fields, as typed, and
    # the lineage every snapshot slice adds (unless the catalog declares silver columns).
    held = None if entry.columns else [*((f["name"], f["type"]) for f in entry.source["fields"]),
                                        ("_source_url", "string"), ("_loaded_at", "timestamp")]
    pull = entry.bronze_table(held)
    pulls = spark.createDataFrame([], changes_schema(spark, pull))
    track = fact_spotify_track_daily(pulls, dim_track, dim_artist)
    artist = fact_spotify_artist_daily(track)
    return {"fact_spotify_track_daily": track.schema, "fact_spotify_artist_daily": artist.schema,
            "spotify_daily_quality": spotify_daily_quality(track, artist).schema}


def catalog(schemas: dict[str, StructType]) -> dict:
    """The described catalogue; raises when gold and the descriptions disagree."""
    problems: list[str] = []
    for t in sorted(set(schemas) - set(TABLES)):
        problems.append(f"gold table {t} has no description in TABLES")
    for t in sorted(set(TABLES) - set(schemas)):
        problems.append(f"TABLES describes {t}, which gold does not have")
    tables = []
    for name in TABLES:
        if name not in schemas:
            continue
        described = COLUMNS.get(name, {})
        cols = []
        for f in schemas[name].fields:
            if f.name not in described:
                problems.append(f"gold column {name}.{f.name} has no description in COLUMNS")
            cols.append({"name": f.name, "type": f.dataType.simpleString(),
                         "description": described.get(f.name, "")})
        for c in sorted(set(described) - {f.name for f in schemas[name].fields}):
            problems.append(f"COLUMNS describes {name}.{c}, which gold does not have")
        tables.append({"name": name, "description": TABLES[name],
                       **({"requires": REQUIRES[name]} if name in REQUIRES else {}), "columns": cols})
    if problems:
        raise ValueError("gold catalogue out of date:\n  " + "\n  ".join(problems))
    return {
        "generatedBy": "python -m soundlake.serving.catalog --write (do not edit by hand)",
        "schema": SCHEMA,
        "tables": tables,
    }


def render(cat: dict) -> str:
    return json.dumps(cat, indent=2, ensure_ascii=False) + "\n"


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soundlake.serving.catalog", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="PATH", help="write the catalogue JSON here")
    mode.add_argument("--check", metavar="PATH", help="exit 1 when PATH differs from a fresh generation")
    a = ap.parse_args(list(argv) if argv is not None else None)
    from soundlake.local.spark import local_spark

    spark = local_spark("soundlake-catalog")
    try:
        text = render(catalog(gold_schemas(spark)))
    finally:
        spark.stop()
    path = Path(a.write or a.check)
    if a.write:
        path.write_text(text)
        print(f"wrote {path}")
        return 0
    if not path.exists() or path.read_text() != text:
        print(f"{path} is out of date: run python -m soundlake.serving.catalog --write {path}",
              file=sys.stderr)
        return 1
    print(f"{path} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
