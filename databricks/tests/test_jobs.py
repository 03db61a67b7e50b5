"""The silver job's wheel entry points wire their arguments to Auto Loader and Unity Catalog."""
import pytest

from soundlake.jobs import silver as job

from demo_tables import REPO_CATALOG


def test_silver_entry_point_builds_auto_loader_and_catalog_lake(monkeypatch):
    seen = {}

    def fake_run(spark, lake, source, tables, progress, concurrency):
        seen.update(lake=lake, source=source, tables=[t.name for t in tables], concurrency=concurrency)

    monkeypatch.setattr("soundlake.silver.ingest.run_silver", fake_run)
    monkeypatch.setattr(job, "_session", lambda: "spark")
    assert job.main(["--catalog=soundlake_dev", "--silver-schema=dev_alice_silver",
                     "--bronze-root=abfss://bronze@a.dfs.core.windows.net/",
                     "--checkpoint-root=/Volumes/soundlake_dev/dev_alice_silver/checkpoints",
                     "--table=dim_users"]) == 0
    assert seen["tables"] == ["dim_users"] and seen["concurrency"] == 4
    assert seen["lake"].sql_name("silver", "users") == "`soundlake_dev`.`dev_alice_silver`.`users`"
    assert seen["lake"].checkpoint("silver", "users") == (
        "/Volumes/soundlake_dev/dev_alice_silver/checkpoints/silver/users")
    assert seen["source"].bronze_root == "abfss://bronze@a.dfs.core.windows.net/"
    assert seen["source"].schema_root == "/Volumes/soundlake_dev/dev_alice_silver/checkpoints/_schemas"


def test_silver_entry_point_takes_the_tables_of_the_table_catalog(monkeypatch, tmp_path, capsys):
    """Every table of the catalog by default; --table picks some; a name the catalog does not
    have is refused, naming the catalog's tables. --table-catalog reads another file."""
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress, concurrency:
                        seen.update(t=[t.name for t in tables], c=concurrency))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    base = ["--catalog=c", "--silver-schema=s", "--bronze-root=b", "--checkpoint-root=/v"]
    job.main(base)
    assert seen["t"] == ["dim_users", "dim_artists", "dim_albums", "dim_tracks", "fact_streams"]
    job.main(base + ["--table=fact_streams", "--table=dim_users"])
    assert seen["t"] == ["fact_streams", "dim_users"]
    # a group as one comma-separated value, and repeats, each table once
    job.main(base + ["--table=dim_tracks, dim_users", "--table=dim_users", "--concurrency=2"])
    assert seen["t"] == ["dim_tracks", "dim_users"] and seen["c"] == 2
    with pytest.raises(SystemExit):
        job.main(base + ["--table=nope"])
    assert "--table nope: not in the table catalog" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        job.main(base + ["--concurrency=0"])
    assert "--concurrency 0: must be at least 1" in capsys.readouterr().err

    other = tmp_path / "soundlake.yaml"
    other.write_text(REPO_CATALOG.read_text() + PLAYLISTS)
    job.main(base + [f"--table-catalog={other}"])
    assert seen["t"][-1] == "dim_playlists"


def test_silver_entry_point_runs_the_group_its_key_names(monkeypatch, tmp_path, capsys):
    """The bundle's for_each passes a group key; the task finds its tables in the catalog with
    the same grouping (silver/groups.py) at the size it is given."""
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress, concurrency:
                        seen.update(t=[t.name for t in tables]))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    base = ["--catalog=c", "--silver-schema=s", "--bronze-root=b", "--checkpoint-root=/v"]
    job.main(base + ["--group=default/0", "--tables-per-task=50"])
    assert seen["t"] == ["dim_users", "dim_artists", "dim_albums", "dim_tracks", "fact_streams"]
    job.main(base + ["--group=default/2", "--tables-per-task=2"])
    assert seen["t"] == ["fact_streams"]
    with pytest.raises(SystemExit):
        job.main(base + ["--group=default/3", "--tables-per-task=2"])
    assert ("--group default/3: not a group of the table catalog" in (err := capsys.readouterr().err)
            and "(it has: default/0, default/1, default/2)" in err)
    with pytest.raises(SystemExit):
        job.main(base + ["--group=default/0"])
    assert "--group needs --tables-per-task" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        job.main(base + ["--group=default/0", "--tables-per-task=2", "--table=dim_users"])
    assert "--group and --table: give one or the other" in capsys.readouterr().err


PLAYLISTS = """
  - name: dim_playlists
    source: { schema: public, table: dim_playlists }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [playlist_id]
"""


def test_views_entry_point_names_views_in_the_given_schema_and_checks_gold(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr("soundlake.silver.views.create_views",
                        lambda spark, lake, catalog, temporary: seen.update(lake=lake, catalog=catalog) or [])
    monkeypatch.setattr("soundlake.gold.needs.held_columns", lambda spark, lake, catalog: {})
    monkeypatch.setattr(job, "_session", lambda: "spark")
    assert job.views(["--catalog=soundlake_dev", "--silver-schema=dev_alice_silver"]) == 0
    assert seen["lake"].sql_name("silver", "track_catalog") == (
        "`soundlake_dev`.`dev_alice_silver`.`track_catalog`")
    assert seen["catalog"].names[0] == "dim_users"
    # a catalog gold cannot be built from stops the run before the pipeline, naming what is missing
    from soundlake.gold.needs import GoldNeedsError

    other = tmp_path / "soundlake.yaml"
    other.write_text(REPO_CATALOG.read_text().replace("name: streams", "name: plays"))
    with pytest.raises(GoldNeedsError, match="silver table 'streams' \\(read by fact_stream, dim_date\\)"):
        job.views(["--catalog=c", "--silver-schema=s", f"--table-catalog={other}"])


def test_catalog_and_schema_names_from_configuration_are_checked():
    from soundlake.lake import CatalogLake

    with pytest.raises(ValueError, match="silver schema name"):
        CatalogLake("soundlake", "/v", silver_schema="silver`; DROP TABLE x; --")
