"""The silver job's wheel entry points wire their arguments to Auto Loader and Unity Catalog."""
import pytest

from soundlake.jobs import silver as job


def test_silver_entry_point_builds_auto_loader_and_catalog_lake(monkeypatch):
    seen = {}

    def fake_run(spark, lake, source, tables, progress):
        seen.update(lake=lake, source=source, tables=[t.name for t in tables])

    monkeypatch.setattr("soundlake.silver.ingest.run_silver", fake_run)
    monkeypatch.setattr(job, "_session", lambda: "spark")
    assert job.main(["--catalog=soundlake", "--bronze-root=abfss://bronze@a.dfs.core.windows.net/",
                     "--checkpoint-root=/Volumes/soundlake/silver/checkpoints", "--table=dim_users"]) == 0
    assert seen["tables"] == ["dim_users"]
    assert seen["lake"].sql_name("silver", "users") == "`soundlake`.`silver`.`users`"
    assert seen["lake"].checkpoint("silver", "users") == "/Volumes/soundlake/silver/checkpoints/silver/users"
    assert seen["source"].bronze_root == "abfss://bronze@a.dfs.core.windows.net/"
    assert seen["source"].schema_root == "/Volumes/soundlake/silver/checkpoints/_schemas"


def test_silver_entry_point_defaults_to_every_table_and_rejects_unknown(monkeypatch):
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress: seen.update(t=[t.name for t in tables]))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    job.main(["--catalog=c", "--bronze-root=b", "--checkpoint-root=/v"])
    assert seen["t"] == ["dim_albums", "dim_artists", "dim_tracks", "dim_users", "fact_streams"]
    with pytest.raises(SystemExit):
        job.main(["--catalog=c", "--bronze-root=b", "--checkpoint-root=/v", "--table=nope"])
