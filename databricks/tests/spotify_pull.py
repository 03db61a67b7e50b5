"""The Spotify daily pull in the tests: the repository's catalog with the preset's pull, a real
pull of the Spotify stand-in landed as bronze (local/spotifyPull.ts: the TypeScript core), and
what gold must make of it on the demo's bronze."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from soundlake import lake as lk
from soundlake.local.demo_bronze import demo_passes

REPO = Path(__file__).resolve().parents[2]
STAND_IN_TRACKS = 23  # local/sourcesDemo.ts: demoSpotifyCatalogue
STAND_IN_ARTISTS = 7


def catalog_with_pull(fields=None) -> str:
    """soundlake.yaml with the preset's spotify source and spotify_tracks table."""
    base = yaml.safe_load((REPO / "soundlake.yaml").read_text())
    preset = yaml.safe_load((REPO / "examples" / "sources.soundlake.yaml").read_text())
    pull = next(t for t in preset["tables"] if t["name"] == "spotify_tracks")
    if fields is not None:
        pull["source"]["fields"] = fields(pull["source"]["fields"])
    base["sources"] = [s for s in preset["sources"] if s["name"] == "spotify"]
    base["tables"].append(pull)
    return yaml.safe_dump(base, sort_keys=False)


def land_stand_in_pull(bronze: Path, demo_tracks: int) -> str:
    """One pull of the stand-in into `bronze`; the stand-in shares the ISRCs of demo tracks
    1..min(16, demo_tracks). Returns what the pull printed."""
    npx = shutil.which("npx")
    assert npx, "node is needed: the pull is the TypeScript core against the Spotify stand-in"
    done = subprocess.run([npx, "tsx", "local/spotifyPull.ts", "--bronze-dir", str(bronze),
                           "--tracks", str(demo_tracks)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"landed spotify_tracks: {STAND_IN_TRACKS} rows" in done.stdout
    return done.stdout


def check_spotify_facts(spark, lake: lk.Lake, printed: str, seed: int, sizes: dict) -> None:
    """Gold's Spotify facts from the stand-in pull: the stand-in's i-th track is demo track i
    (by ISRC) for i <= matched, the rest are the unknown member; artists through those tracks."""
    matched = min(16, sizes["tracks"])
    trk_artist = {t["track_id"]: t["artist_id"] for _, ts in demo_passes(seed, **sizes)
                  for t in ts.get("dim_tracks", [])}
    fact = lk.read(spark, lake, "gold", "fact_spotify_track_daily")
    got = {(r.search_rank, r.track_id, r.artist_id, r.matched) for r in fact.collect()}
    assert got == {(i, i, trk_artist[i], True) if i <= matched else (i, -1, -1, False)
                   for i in range(1, STAND_IN_TRACKS + 1)}
    assert fact.select("date_key").distinct().count() == 1
    assert fact.where("popularity IS NULL OR popularity NOT BETWEEN 0 AND 100").count() == 0
    current = {r.artist_id: r["__START_AT"]
               for r in lk.read(spark, lake, "gold", "dim_artist").where("__END_AT IS NULL").collect()}
    assert all(r.artist_valid_from == current[r.artist_id] for r in fact.where("matched").collect())
    artists = lk.read(spark, lake, "gold", "fact_spotify_artist_daily")
    assert artists.count() == STAND_IN_ARTISTS
    q = lk.read(spark, lake, "gold", "spotify_daily_quality").first()
    assert (q.track_rows, q.track_duplicates, q.track_matched) == (STAND_IN_TRACKS, 0, matched)
    assert (q.artist_rows, q.artist_duplicates) == (STAND_IN_ARTISTS, 0)
    assert (f"{STAND_IN_TRACKS} track-day(s), {matched} matched to dim_track by ISRC") in printed
    assert "#1 Stand-in Track 1 - Stand-in Artist 1" in printed and "-> dim_track 1 (Track 1)" in printed
