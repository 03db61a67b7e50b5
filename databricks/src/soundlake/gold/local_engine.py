"""Gold on local Spark: the same functions the DLT pipeline calls, run by plain code.

Per dimension, a checkpointed Delta stream over `silver.<name>_changes` (append-only)
feeds micro-batches; each batch is checked against the dimension's expectations (counts
reported) and its keys' SCD2 history is rebuilt and swapped in (see scd2.py). DimDate,
FactStream and its quality check are recomputed in full, as the pipeline's materialized
views are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from soundlake import lake as lk
from soundlake.catalog import Catalog
from soundlake.gold import expectations as ex
from soundlake.gold import needs
from soundlake.gold.dim_date import dim_date
from soundlake.gold.dims import DIMENSIONS
from soundlake.gold.fact_stream import (
    FACT_EXPECTATIONS,
    fact_stream,
    fact_stream_quality,
    quality_expectations,
)
from soundlake.gold.scd2 import END_AT, START_AT, ScdSpec, apply_incremental, feed
from soundlake.gold.spotify_daily import (
    ARTIST_DAILY_EXPECTATIONS,
    QUALITY_EXPECTATIONS,
    TRACK_DAILY_EXPECTATIONS,
    fact_spotify_artist_daily,
    fact_spotify_track_daily,
    spotify_daily_quality,
)

Progress = Callable[[str], None]


@dataclass
class DimStats:
    batches: int = 0
    reports: list[ex.QualityReport] = field(default_factory=list)

    def dropped(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reports:
            for k, v in r.dropped.items():
                out[k] = out.get(k, 0) + v
        return out

    def warned(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reports:
            for k, v in r.warned.items():
                out[k] = out.get(k, 0) + v
        return out


def dim_schema(spark: SparkSession, lake: lk.Lake, spec: ScdSpec) -> StructType:
    src = lk.read(spark, lake, "silver", spec.silver_changes).select(*spec.columns).schema
    seq_type = src[spec.sequence_by].dataType
    return StructType(list(src.fields)).add(START_AT, seq_type).add(END_AT, seq_type)


def run_dimension(spark: SparkSession, lake: lk.Lake, spec: ScdSpec) -> DimStats:
    lk.ensure_table(spark, lake, "gold", spec.name, dim_schema(spark, lake, spec),
                    f"SCD2 {spec.name} (AUTO CDC semantics, local engine)")
    stats = DimStats()

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        s = batch.sparkSession
        kept, report = ex.apply(feed(spec, batch), spec.expectations, spec.name)
        stats.batches += 1
        stats.reports.append(report)
        all_events = ex.keep_only(
            feed(spec, lk.read(s, lake, "silver", spec.silver_changes)), spec.expectations)
        target = lk.delta_table(s, lake, "gold", spec.name)
        apply_incremental(s, target, spec, all_events, kept.select(*spec.keys))

    lk.drain_stream(lk.read_stream(spark, lake, "silver", spec.silver_changes), on_batch, lake, "gold", spec.name)
    return stats


def run_gold(spark: SparkSession, lake: lk.Lake, catalog: Catalog,
             progress: Progress = lambda _m: None) -> dict:
    """Gold from silver; first checks that the catalog gives every silver table and column
    gold reads (gold/needs.py), naming what is missing."""
    needs.check(catalog, needs.held_columns(spark, lake, catalog))
    out: dict = {}
    for spec in DIMENSIONS.values():
        progress(f"gold: {spec.name} <- silver.{spec.silver_changes} (SCD2)")
        st = run_dimension(spark, lake, spec)
        out[spec.name] = st
        extra = "".join(f", dropped {v} ({k})" for k, v in st.dropped().items() if v)
        extra += "".join(f", warned {v} ({k})" for k, v in st.warned().items() if v)
        progress(f"gold: {spec.name}: {st.batches} micro-batch(es){extra}")

    streams = lk.read(spark, lake, "silver", needs.STREAMS)
    lk.overwrite(dim_date(streams), lake, "gold", "dim_date")
    r = lk.read(spark, lake, "gold", "dim_date").selectExpr("min(date) lo", "max(date) hi").first()
    progress(f"gold: dim_date {r.lo} .. {r.hi}")

    progress("gold: fact_stream (point-in-time join to dimension versions)")
    dims = {n: lk.read(spark, lake, "gold", n) for n in DIMENSIONS}
    raw = fact_stream(streams, dims["dim_user"], dims["dim_track"], dims["dim_artist"], dims["dim_album"])
    kept, report = ex.apply(raw, FACT_EXPECTATIONS, "fact_stream")
    for line in report.lines():
        progress(f"gold: {line}")
    kept = kept.persist()
    try:
        # checked before anything is written: a failing check leaves gold as it was
        checked, qreport = ex.apply(fact_stream_quality(kept), quality_expectations(),
                                    "fact_stream_quality")
        q = checked.first()
        lk.overwrite(kept, lake, "gold", "fact_stream")
        lk.overwrite(checked, lake, "gold", "fact_stream_quality")
    finally:
        kept.unpersist()
    out["fact_stream"] = report
    progress(f"gold: fact_stream_quality: {q['broken_references']} of {q['facts']} fact(s) "
             "miss a dimension version")
    out["fact_stream_quality"] = qreport

    pull = needs.spotify_pull(catalog)
    if pull and lk.exists(spark, lake, "silver", f"{pull}_changes"):
        out.update(run_spotify_daily(spark, lake, pull, progress))
    elif pull:
        progress(f"gold: Spotify daily facts: silver.{pull}_changes has not landed yet")
    return out


def run_spotify_daily(spark: SparkSession, lake: lk.Lake, pull: str, progress: Progress) -> dict:
    """The Spotify daily facts (gold/spotify_daily.py), recomputed in full; the quality check
    runs before anything is written, so a failing check leaves gold as it was."""
    progress(f"gold: fact_spotify_track_daily <- silver.{pull}_changes (ISRC -> dim_track, dim_artist)")
    pulls = lk.read(spark, lake, "silver", f"{pull}_changes")
    raw = fact_spotify_track_daily(pulls, lk.read(spark, lake, "gold", "dim_track"),
                                   lk.read(spark, lake, "gold", "dim_artist"))
    track, treport = ex.apply(raw, TRACK_DAILY_EXPECTATIONS, "fact_spotify_track_daily")
    track = track.persist()
    try:
        artist, areport = ex.apply(fact_spotify_artist_daily(track), ARTIST_DAILY_EXPECTATIONS,
                                   "fact_spotify_artist_daily")
        artist = artist.persist()
        try:
            checked, qreport = ex.apply(spotify_daily_quality(track, artist), QUALITY_EXPECTATIONS,
                                        "spotify_daily_quality")
            q = checked.first()
            lk.overwrite(track, lake, "gold", "fact_spotify_track_daily")
            lk.overwrite(artist, lake, "gold", "fact_spotify_artist_daily")
            lk.overwrite(checked, lake, "gold", "spotify_daily_quality")
        finally:
            artist.unpersist()
    finally:
        track.unpersist()
    for line in treport.lines() + areport.lines():
        progress(f"gold: {line}")
    progress(f"gold: spotify_daily_quality: {q['track_matched']} of {q['track_rows']} pulled "
             f"track-day(s) matched to dim_track by ISRC; {q['artist_matched']} of "
             f"{q['artist_rows']} artist-day(s) to dim_artist")
    return {"fact_spotify_track_daily": treport, "fact_spotify_artist_daily": areport,
            "spotify_daily_quality": qreport}
