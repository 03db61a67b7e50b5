"""Gold's Spotify daily facts (gold/spotify_daily.py): exact rows on a hand-made pull, the
expectations on bad rows, the catalog switch, the Lakeflow shells and the deploy-time conf."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
import yaml
from pyspark.pipelines.graph_element_registry import graph_element_registration_context
from pyspark.pipelines.output import MaterializedView

from soundlake.catalog import parse_catalog
from soundlake.gold import expectations as ex
from soundlake.gold.needs import SPOTIFY_TRACK_COLUMNS, problems, spotify_pull
from soundlake.gold.spotify_daily import (
    ARTIST_DAILY_EXPECTATIONS,
    QUALITY_EXPECTATIONS,
    TRACK_DAILY_EXPECTATIONS,
    fact_spotify_artist_daily,
    fact_spotify_track_daily,
    spotify_daily_quality,
)

from spotify_pull import catalog_with_pull
from test_pipeline_shells import PIPELINE, Recorder, databricks_api, expectations_of

REPO = Path(__file__).resolve().parents[2]
T = dt.datetime
DIM_TRACK = ("track_id int, isrc string, artist_id int, track_name string, "
             "__START_AT timestamp, __END_AT timestamp")
DIM_ARTIST = "artist_id int, artist_name string, __START_AT timestamp, __END_AT timestamp"
PULLS = ("spotify_track_id string, isrc string, search_rank int, popularity int, track_name string, "
         "spotify_artist_id string, artist_name string, _loaded_at timestamp")


def _dims(spark):
    # track 1 moves from artist 10 to artist 11 on 2026-11-20; tracks 2 and 3 are one recording
    tracks = spark.createDataFrame([
        (1, "XSSLK0000001", 10, "One", T(2026, 11, 1), T(2026, 11, 20)),
        (1, "XSSLK0000001", 11, "One", T(2026, 11, 20), None),
        (3, "XSSLK0000002", 12, "Two (album)", T(2026, 11, 1), None),
        (2, "XSSLK0000002", 12, "Two", T(2026, 11, 1), None),
    ], DIM_TRACK)
    artists = spark.createDataFrame([
        (10, "Ten", T(2026, 11, 1), None), (11, "Eleven", T(2026, 11, 1), None),
        (12, "Twelve", T(2026, 11, 1), T(2026, 11, 19, 12)), (12, "Twelve!", T(2026, 11, 19, 12), None),
    ], DIM_ARTIST)
    return tracks, artists


def _pulls(spark):
    morning, evening, later = T(2026, 11, 19, 6), T(2026, 11, 19, 18), T(2026, 11, 21, 6)
    return spark.createDataFrame([
        ("sp1", "XS-SLK-00-00001", 1, 80, "One", "spA", "A", morning),
        ("sp2", "XSSLK0000002", 2, 50, "Two", "spB", "B", morning),
        ("sp9", "XSSTI2600009", 3, None, "Nine", "spA", "A", morning),
        # the day's second pull: sp1 and sp2 again (sp2 listed twice), sp9 not
        ("sp1", "XS-SLK-00-00001", 2, 81, "One", "spA", "A", evening),
        ("sp2", "XSSLK0000002", 1, 55, "Two", "spB", "B", evening),
        ("sp2", "XSSLK0000002", 4, 55, "Two", "spB", "B", evening),
        ("sp1", "xsslk0000001", 1, 90, "One", "spA", "A", later),
    ], PULLS)


def test_track_and_artist_facts_exact_rows(spark):
    tracks, artists = _dims(spark)
    fact = fact_spotify_track_daily(_pulls(spark), tracks, artists)
    got = sorted(tuple(r) for r in fact.select(
        "date_key", "spotify_track_id", "search_rank", "popularity", "track_id", "track_valid_from",
        "artist_id", "artist_valid_from", "matched", "pulled_at").collect())
    assert got == [
        # the last pull of the day, the best place in it; ISRC matched without hyphens and case
        (20261119, "sp1", 2, 81, 1, T(2026, 11, 1), 10, T(2026, 11, 1), True, T(2026, 11, 19, 18)),
        # one recording under tracks 2 and 3: the lowest id; the artist version valid at the pull
        (20261119, "sp2", 1, 55, 2, T(2026, 11, 1), 12, T(2026, 11, 19, 12), True, T(2026, 11, 19, 18)),
        # not in the catalogue: kept, with the unknown member
        (20261119, "sp9", 3, None, -1, None, -1, None, False, T(2026, 11, 19, 6)),
        # the track version valid at the pull: artist 11 since 2026-11-20
        (20261121, "sp1", 1, 90, 1, T(2026, 11, 20), 11, T(2026, 11, 1), True, T(2026, 11, 21, 6)),
    ]
    assert fact.where("spotify_track_id = 'sp1'").select("pull_date").distinct().count() == 2

    artist = fact_spotify_artist_daily(fact)
    got = sorted(tuple(r) for r in artist.select(
        "date_key", "spotify_artist_id", "tracks_in_results", "best_rank", "max_popularity",
        "avg_popularity", "artist_id", "artist_valid_from", "matched").collect())
    assert got == [
        (20261119, "spA", 2, 2, 81, 81.0, 10, T(2026, 11, 1), True),
        (20261119, "spB", 1, 1, 55, 55.0, 12, T(2026, 11, 19, 12), True),
        (20261121, "spA", 1, 1, 90, 90.0, 11, T(2026, 11, 1), True),
    ]
    q = spotify_daily_quality(fact, artist).first()
    assert (q.track_rows, q.track_duplicates, q.track_matched, q.artist_rows, q.artist_duplicates,
            q.artist_matched) == (4, 0, 3, 3, 0, 3)


def test_expectations_drop_and_count_bad_rows_and_a_duplicate_grain_fails(spark):
    tracks, artists = _dims(spark)
    at = T(2026, 11, 19, 6)
    bad = spark.createDataFrame([
        ("sp1", "XSSLK0000001", 1, 80, "One", "spA", "A", at),       # good
        ("sp7", "XSSTI2600007", 2, 101, "Seven", "spA", "A", at),     # popularity out of range
        ("sp8", "XSSTI2600008", 0, 5, "Eight", "spA", "A", at),       # rank 0
        (None, "XSSTI2600010", 4, 5, "Ten", "spA", "A", at),          # no Spotify id
        ("sp6", None, 5, None, "Six", "spB", "B", at),                # no ISRC: unknown, kept
    ], PULLS)
    kept, report = ex.apply(fact_spotify_track_daily(bad, tracks, artists), TRACK_DAILY_EXPECTATIONS,
                            "fact_spotify_track_daily")
    assert sorted(r.spotify_track_id for r in kept.collect()) == ["sp1", "sp6"]
    assert (report.rows_in, report.rows_out) == (5, 2)
    assert {k: v for k, v in report.dropped.items() if v} == {
        "spotify_track_id_not_null": 1, "popularity_0_to_100": 1, "search_rank_positive": 1}
    assert report.warned["matched_to_dim_track"] == 4
    assert "dropped 1 row(s): popularity_0_to_100" in "\n".join(report.lines())

    artist, areport = ex.apply(fact_spotify_artist_daily(kept), ARTIST_DAILY_EXPECTATIONS, "a")
    assert (areport.rows_out, areport.warned) == (2, {"matched_to_dim_artist": 1})

    doubled = kept.unionByName(kept.where("spotify_track_id = 'sp1'"))
    with pytest.raises(ex.ExpectationFailed, match="one_row_per_pull_date_and_track \\(1 row"):
        ex.apply(spotify_daily_quality(doubled, artist), QUALITY_EXPECTATIONS, "spotify_daily_quality")


# --- catalog: what gold reads of the pull, and the deploy-time switch ----------------------
def test_the_catalog_switches_the_spotify_facts_and_gold_names_a_missing_column():
    assert spotify_pull(parse_catalog((REPO / "soundlake.yaml").read_text())) is None
    with_pull = parse_catalog(catalog_with_pull())
    assert spotify_pull(with_pull) == "spotify_tracks"
    bronze_columns = [f["name"] for f in yaml.safe_load(catalog_with_pull())["tables"][-1]["source"]["fields"]]
    assert problems(with_pull, {"spotify_tracks": [*bronze_columns, "_source_url", "_loaded_at"]}) == []
    no_isrc = [c for c in bronze_columns if c != "isrc"] + ["_source_url", "_loaded_at"]
    assert problems(with_pull, {"spotify_tracks": no_isrc}) == [
        "column 'isrc' of silver table 'spotify_tracks' (read by fact_spotify_track_daily): "
        f"tables[{len(with_pull.tables) - 1}] (spotify_tracks) has no such column"]
    assert set(SPOTIFY_TRACK_COLUMNS) <= {*bronze_columns, "_loaded_at"}


def test_the_deploy_sets_the_gold_pipelines_spotify_pull_from_the_catalog(tmp_path):
    from test_bundle import USER, VARS, render

    def conf(env=None):
        return render("prod", USER, VARS, env=env)["resources"]["pipelines"]["gold"]["configuration"]

    assert conf()["soundlake.spotify_pull"] == ""
    f = tmp_path / "catalog.yaml"
    f.write_text(catalog_with_pull())
    assert conf({"SOUNDLAKE_CONFIG": str(f)})["soundlake.spotify_pull"] == "spotify_tracks"


# --- the Lakeflow shells -------------------------------------------------------------------
class _Spark:
    def __init__(self, pull: str, tables: dict):
        self.conf = type("Conf", (), {"get": staticmethod(lambda k, d=None: {
            "soundlake.catalog": "cat", "soundlake.silver_schema": "dev_alice_silver",
            "soundlake.spotify_pull": pull}.get(k, d))})()
        self.read = type("Read", (), {"table": staticmethod(lambda name: tables[name])})()


def _load(monkeypatch, name: str, spark) -> Recorder:
    rec = Recorder()
    databricks_api(monkeypatch, rec)
    spec = importlib.util.spec_from_file_location(f"gold_pipeline_{name}", PIPELINE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    mod.spark = spark  # Lakeflow gives a pipeline file `spark` as a global
    with graph_element_registration_context(rec):
        spec.loader.exec_module(mod)
    return rec


SHELLS = {"fact_spotify_track_daily": TRACK_DAILY_EXPECTATIONS,
          "fact_spotify_artist_daily": ARTIST_DAILY_EXPECTATIONS,
          "spotify_daily_quality": QUALITY_EXPECTATIONS}


def test_the_shells_define_nothing_without_the_pull_and_their_views_with_it(monkeypatch, spark):
    tracks, artists = _dims(spark)
    fact = fact_spotify_track_daily(_pulls(spark), tracks, artists)
    tables = {"cat.dev_alice_silver.spotify_tracks_changes": _pulls(spark), "dim_track": tracks,
              "dim_artist": artists, "fact_spotify_track_daily": fact,
              "fact_spotify_artist_daily": fact_spotify_artist_daily(fact)}
    for name, exp in SHELLS.items():
        assert _load(monkeypatch, name, _Spark("", tables)).outputs == []
        rec = _load(monkeypatch, name, _Spark("spotify_tracks", tables))
        [view], [flow] = rec.outputs, rec.flows
        assert isinstance(view, MaterializedView) and view.name == name
        assert expectations_of(flow) == {k: v for k, v in (("drop", exp.drop), ("warn", exp.warn),
                                                              ("fail", exp.fail)) if v}
        assert flow.func().count() == {"fact_spotify_track_daily": 4, "fact_spotify_artist_daily": 3,
                                       "spotify_daily_quality": 1}[name]


# The end to end (a real pull of the Spotify stand-in through the local medallion) runs inside
# test_medallion_e2e.py, on its medallion run: one Spark medallion for both (spotify_pull.py).
