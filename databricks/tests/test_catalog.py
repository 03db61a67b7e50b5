"""The catalog on the Python side: the same file, the same schema, the same problems as TypeScript."""
from __future__ import annotations

from pathlib import Path

import pytest

from soundlake import catalog as cat

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "catalog" / "bad-catalogs.yaml"
CASES = cat.parse_yaml(FIXTURE.read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_catalogs_fail_with_the_problems_typescript_reports(case):
    """tests/fixtures/catalog/bad-catalogs.yaml: the same cases, the same expected problems, as
    tests/config/catalogFixture.test.ts."""
    with pytest.raises(cat.CatalogError) as e:
        cat.parse_catalog(case["catalog"], "bad.yaml")
    if case.get("yaml"):
        assert len(e.value.problems) == 1 and e.value.problems[0].startswith("YAML: "), e.value.problems
    else:
        assert sorted(e.value.problems) == sorted(case["problems"])
    assert str(e.value).startswith("invalid catalog in bad.yaml:\n  - ")


def test_the_repository_catalog_with_defaults_applied():
    c = cat.load_catalog(ROOT / "soundlake.yaml")
    assert c.names == ["dim_users", "dim_artists", "dim_albums", "dim_tracks", "fact_streams"]
    tracks = c.table("dim_tracks")
    assert (tracks.silver_name, tracks.keys, tracks.sequence_column) == ("tracks", ("track_id",), "updated_at")
    assert tracks.columns[7] == ("danceability", "decimal(4,3)")
    assert tracks.transforms == (cat.Transform("duration_flag", "duration_sec", "duration_flag"),)
    assert tracks.added_columns == [("duration_flag", "string")]
    with pytest.raises(KeyError, match="dim_nope.*dim_users, dim_artists"):
        c.table("dim_nope")


def test_a_plain_table_needs_nothing_but_its_bronze_entry():
    c = cat.parse_catalog("""
version: 1
tables:
  - name: dim_playlists
    source: { schema: public, table: dim_playlists }
    watermark: { column: changed_at, kind: timestamp }
    primaryKey: [playlist_id]
""")
    [t] = c.tables
    assert (t.silver_name, t.sequence_column, t.columns, t.transforms, t.enabled) == (
        "dim_playlists", "changed_at", None, (), True)


def test_tables_read_from_named_sources_keep_their_schema_and_table():
    c = cat.parse_catalog("""
version: 1
sources:
  - { name: streaming_db, kind: postgres, url: { setting: STREAMING_DB_URL }, maxConnections: 8 }
  - { name: default, kind: mssql, url: { setting: SOURCE_URL }, maxConnections: 2 }
tables:
  - name: dim_users
    source: { name: streaming_db, schema: public, table: dim_users }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [user_id]
  - name: dim_tracks
    source: { schema: dbo, table: dim_tracks }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [track_id]
""")
    users, tracks = c.tables
    assert (users.source["schema"], users.source["table"], users.source["name"]) == ("public", "dim_users", "streaming_db")
    assert (tracks.source["schema"], tracks.source["table"], tracks.source.get("name")) == ("dbo", "dim_tracks", None)
    assert users.bronze_table([("user_id", "int"), ("updated_at", "timestamp")]).name == "dim_users"


def test_yaml_is_read_as_yaml_1_2_like_the_typescript_side():
    doc = cat.parse_yaml("a: yes\nb: 2026-01-01\nc: 010\nd: 0x10\ne: 1_000\nf: .inf\ng: ~\nh: True\n")
    assert doc == {"a": "yes", "b": "2026-01-01", "c": 10, "d": 16, "e": "1_000", "f": float("inf"),
                   "g": None, "h": True}


def test_which_file_named_setting_packaged_or_checkout(tmp_path, monkeypatch):
    named = tmp_path / "named.yaml"
    named.write_text((ROOT / "soundlake.yaml").read_text())
    assert cat.catalog_path(named)[0] == str(named)
    monkeypatch.setenv(cat.SETTING, str(named))
    assert cat.load_catalog().file == str(named)
    monkeypatch.delenv(cat.SETTING)
    assert cat.catalog_path()[0] == str(ROOT / "soundlake.yaml")  # a checkout, no packaged copy
    with pytest.raises(cat.CatalogError, match=r"missing.yaml:\n  - cannot read file"):
        cat.load_catalog(tmp_path / "missing.yaml")
