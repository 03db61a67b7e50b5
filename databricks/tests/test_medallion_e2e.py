"""The whole local medallion on demo bronze and a pull of the Spotify stand-in, checked against
plain-Python answers, then rerun."""
from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter

import pytest

from soundlake import lake as lk
from soundlake.gold.answers import streams_by_subscription, top_artists
from soundlake.gold.dims import DIMENSIONS
from soundlake.local.demo_bronze import demo_passes, write_demo
from soundlake.local.medallion import run

from scd2_oracle import scd2_oracle
from spotify_pull import catalog_with_pull, check_spotify_facts, land_stand_in_pull

SIZES = dict(users=12, tracks=15, streams_per_pass=150)


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None)


def expected():
    passes = demo_passes(7, **SIZES)
    rows = {name: [r for _, tables in passes for r in tables.get(name, [])]
            for name in ("dim_users", "dim_artists", "dim_albums", "dim_tracks", "fact_streams")}
    versions = {}
    for dim, table in (("dim_user", "dim_users"), ("dim_artist", "dim_artists"),
                       ("dim_album", "dim_albums"), ("dim_track", "dim_tracks")):
        spec = DIMENSIONS[dim]
        evs = [{c: r.get(c, "x") for c in spec.columns} for r in rows[table]]
        versions[dim] = scd2_oracle(evs, spec.keys, spec.sequence_by, spec.columns, spec.track_history_except)

    # plan valid at stream time (the first version counts from the beginning of time)
    plans: dict[int, list[tuple[dt.datetime, str]]] = {}
    for u in sorted(rows["dim_users"], key=lambda r: r["updated_at"]):
        plans.setdefault(u["user_id"], []).append((u["updated_at"], u["subscription_type"]))
    by_sub = Counter()
    for s in rows["fact_streams"]:
        hist = plans[s["user_id"]]
        i = max(bisect.bisect_right([h[0] for h in hist], s["streamed_at"]) - 1, 0)
        month = s["streamed_at"].date().replace(day=1)
        by_sub[(month, hist[i][1])] += 1
    album_artist = {a["album_id"]: a["artist_id"] for a in rows["dim_albums"]}
    track_artist = {t["track_id"]: album_artist[t["album_id"]] for t in rows["dim_tracks"]}
    per_artist = Counter(track_artist[s["track_id"]] for s in rows["fact_streams"])
    return versions, by_sub, per_artist, len(rows["fact_streams"])


@pytest.mark.local_only
def test_bronze_to_gold_end_to_end_and_rerun(spark, tmp_path, capsys):
    from soundlake.catalog import parse_catalog

    bronze, lake_dir = tmp_path / "bronze", tmp_path / "lake"
    catalog = parse_catalog(catalog_with_pull())
    write_demo(bronze, catalog=catalog, **SIZES)
    land_stand_in_pull(bronze, SIZES["tracks"])
    versions, by_sub, per_artist, n_streams = expected()

    counts = run(spark, bronze, lake_dir, say=print, catalog=catalog)
    out = capsys.readouterr().out
    assert "== gold row counts" in out and "== top 5 artists by streams" in out
    for dim, vs in versions.items():
        assert counts[dim] == len(vs), dim
    assert counts["dim_user"] > SIZES["users"]  # subscription changes made history
    assert counts["fact_stream"] == n_streams

    lake = lk.PathLake(str(lake_dir))
    fact = lk.read(spark, lake, "gold", "fact_stream")
    got = {(r.period, r.subscription_type): r.streams
           for r in streams_by_subscription(fact, lk.read(spark, lake, "gold", "dim_user")).collect()}
    assert got == dict(by_sub)
    top = [(r.artist_id, r.streams) for r in top_artists(fact, lk.read(spark, lake, "gold", "dim_artist"), 3).collect()]
    assert top == sorted(per_artist.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    q = lk.read(spark, lake, "gold", "fact_stream_quality").first()
    assert (q.facts, q.broken_references) == (n_streams, 0)
    check_spotify_facts(spark, lake, out, 7, SIZES)

    changes_before = {t: lk.read(spark, lake, "silver", f"{t}_changes").count()
                      for t in ("users", "artists", "albums", "tracks", "streams")}
    again = run(spark, bronze, lake_dir, say=print, catalog=catalog)
    out = capsys.readouterr().out
    assert again == counts
    assert out.count("0 new file(s), 0 row(s)") == 6
    assert {t: lk.read(spark, lake, "silver", f"{t}_changes").count() for t in changes_before} == changes_before
