"""The whole medallion on one machine: bronze (Azurite) -> silver -> gold, then answers.

    .venv/bin/python -m soundlake.local.medallion                 # mirror Azurite's bronze
    .venv/bin/python -m soundlake.local.medallion --bronze-dir D  # use a local bronze folder

Every table of the catalog goes to silver (--catalog, else SOUNDLAKE_CONFIG, else the
repository's soundlake.yaml: the file the ingestion reads); the catalog, the views and what
gold reads are checked against each other before anything runs.

Lake state (silver/gold Delta tables, checkpoints, the bronze mirror) lives under
--lake-dir (default .soundlake/lake). Runs are incremental: a rerun processes only new
bronze files and never duplicates anything.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Iterable


def _progress(t0: float):
    def say(msg: str) -> None:
        print(f"[{time.monotonic() - t0:7.1f}s] {msg}", flush=True)
    return say


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soundlake.local.medallion", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bronze-dir", help="read bronze from this folder; skip the Azurite mirror")
    ap.add_argument("--lake-dir", default=os.environ.get("SOUNDLAKE_LAKE_DIR", ".soundlake/lake"),
                    help="silver/gold tables and checkpoints (default .soundlake/lake)")
    ap.add_argument("--container", default=os.environ.get("BRONZE_CONTAINER", "bronze"))
    ap.add_argument("--top", type=int, default=5, help="how many top artists to show")
    ap.add_argument("--catalog", help="the table catalog (default: SOUNDLAKE_CONFIG, else soundlake.yaml)")
    a = ap.parse_args(list(argv) if argv is not None else None)

    from soundlake.catalog import CatalogError, load_catalog
    from soundlake.gold.needs import GoldNeedsError
    from soundlake.silver.views import ViewSpecError

    say = _progress(time.monotonic())
    try:
        catalog = check(load_catalog(a.catalog))
    except (CatalogError, ViewSpecError, GoldNeedsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    say(f"catalog: {catalog.file}: {len(catalog.tables)} table(s)")
    lake_dir = Path(a.lake_dir).resolve()
    if a.bronze_dir:
        bronze = Path(a.bronze_dir).resolve()
        say(f"bronze: local folder {bronze} (no mirror)")
        if not bronze.is_dir():
            print(f"error: --bronze-dir {bronze} is not a folder", file=sys.stderr)
            return 2
    else:
        from soundlake.local.mirror import AZURITE_BLOB, connection_string_from_env, mirror_bronze

        bronze = lake_dir / "bronze"
        cs = connection_string_from_env()
        where = "AZURE_STORAGE_CONNECTION_STRING" if os.environ.get(
            "AZURE_STORAGE_CONNECTION_STRING") else f"Azurite default ({AZURITE_BLOB})"
        say(f"bronze: mirroring container {a.container!r} from {where} into {bronze}")
        try:
            mirror_bronze(cs, a.container, bronze, say)
        except Exception as e:  # noqa: BLE001 - tell the user what to do, not a stack trace
            print(f"error: cannot mirror bronze container {a.container!r}: {type(e).__name__}: "
                  f"{str(e).splitlines()[0] if str(e) else ''}\n"
                  "Is Azurite running (or AZURE_STORAGE_CONNECTION_STRING set)? "
                  "Or pass --bronze-dir PATH.", file=sys.stderr)
            return 2

    say("spark: starting local Spark + Delta (driver 2g, shuffle partitions 4)")
    from soundlake.local.spark import local_spark

    jvm_log = lake_dir / "_logs" / "spark.log"
    spark = local_spark("soundlake-medallion", jvm_log=str(jvm_log))
    say(f"spark: {spark.version}, JVM output in {jvm_log}")
    run(spark, bronze, lake_dir, say, a.top, catalog)
    say("done")
    spark.stop()
    return 0


def check(catalog):
    """The catalog, once the views and gold are known to find in it what they name."""
    from soundlake.gold.needs import check as check_gold
    from soundlake.silver.views import check_views

    check_views(catalog)
    check_gold(catalog)
    return catalog


def run(spark, bronze: Path, lake_dir: Path, say=print, top: int = 5, catalog=None) -> dict[str, int]:
    """bronze folder -> silver -> gold on `spark`; prints counts and answers; returns counts."""
    from soundlake import lake as lk
    from soundlake.gold.answers import latest_pull_top, streams_by_subscription, top_artists
    from soundlake.gold.local_engine import run_gold
    from soundlake.silver.ingest import run_silver
    from soundlake.silver.sources import LocalFileSource
    from soundlake.silver.views import create_views

    from soundlake.catalog import load_catalog

    catalog = check(catalog or load_catalog())
    lake = lk.PathLake(str(lake_dir))
    say(f"lake: {lake_dir} (silver/, gold/, _checkpoints/)")

    run_silver(spark, lake, LocalFileSource(str(bronze)), catalog.tables, say)
    views = create_views(spark, lake, catalog, temporary=True)
    for v in views:
        say(f"silver: view {v} ({spark.table(v).count()} rows)")
    run_gold(spark, lake, catalog, say)

    counts: dict[str, int] = {}
    print("\n== gold row counts")
    for name in ("dim_user", "dim_artist", "dim_album", "dim_track", "dim_date", "fact_stream"):
        df = lk.read(spark, lake, "gold", name)
        counts[name] = df.count()
        extra = ""
        if name.startswith("dim_") and name != "dim_date":
            cur = df.where("__END_AT IS NULL").count()
            extra = f"  ({cur} current, {counts[name] - cur} historical)"
        print(f"  gold.{name:<12} {counts[name]:>8}{extra}")

    fact = lk.read(spark, lake, "gold", "fact_stream")
    print(f"\n== top {top} artists by streams")
    for r in top_artists(fact, lk.read(spark, lake, "gold", "dim_artist"), top).collect():
        print(f"  {r['artist_name'] or '?':<28} {r['streams']:>7} streams {r['hours_played']:>8} h")
    print("\n== streams per subscription type (at stream time), per month")
    rows = streams_by_subscription(fact, lk.read(spark, lake, "gold", "dim_user")).collect()
    for r in rows:
        print(f"  {r['period']}  {r['subscription_type'] or '?':<10} {r['streams']:>7}")
    if lk.exists(spark, lake, "gold", "fact_spotify_track_daily"):
        sp = lk.read(spark, lake, "gold", "fact_spotify_track_daily")
        counts["fact_spotify_track_daily"] = sp.count()
        counts["fact_spotify_artist_daily"] = lk.read(spark, lake, "gold", "fact_spotify_artist_daily").count()
        matched = sp.where("matched").count()
        print(f"\n== Spotify daily pull: gold.fact_spotify_track_daily {counts['fact_spotify_track_daily']} "
              f"track-day(s), {matched} matched to dim_track by ISRC; gold.fact_spotify_artist_daily "
              f"{counts['fact_spotify_artist_daily']} artist-day(s); the latest pull's top 3:")
        for r in latest_pull_top(sp, lk.read(spark, lake, "gold", "dim_track"), 3).collect():
            ours = (f"dim_track {r['track_id']} ({r['catalogue_track_name']})" if r["track_id"] != -1
                    else "not in the catalogue (unknown member -1)")
            pop = "?" if r["popularity"] is None else r["popularity"]
            print(f"  {r['pull_date']} #{r['search_rank']} {r['track_name']} - {r['artist_name']}, "
                  f"popularity {pop}, ISRC {r['isrc']} -> {ours}")
    return counts


if __name__ == "__main__":
    sys.exit(main())
