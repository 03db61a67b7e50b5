"""The silver job's wheel entry points wire their arguments to Auto Loader and Unity Catalog."""
import pytest

from soundlake.jobs import silver as job


def test_silver_entry_point_builds_auto_loader_and_catalog_lake(monkeypatch):
    seen = {}

    def fake_run(spark, lake, source, tables, progress):
        seen.update(lake=lake, source=source, tables=[t.name for t in tables])

    monkeypatch.setattr("soundlake.silver.ingest.run_silver", fake_run)
    monkeypatch.setattr(job, "_session", lambda: "spark")
    assert job.main(["--catalog=soundlake_dev", "--silver-schema=dev_alice_silver",
                     "--bronze-root=abfss://bronze@a.dfs.core.windows.net/",
                     "--checkpoint-root=/Volumes/soundlake_dev/dev_alice_silver/checkpoints",
                     "--table=dim_users"]) == 0
    assert seen["tables"] == ["dim_users"]
    assert seen["lake"].sql_name("silver", "users") == "`soundlake_dev`.`dev_alice_silver`.`users`"
    assert seen["lake"].checkpoint("silver", "users") == (
        "/Volumes/soundlake_dev/dev_alice_silver/checkpoints/silver/users")
    assert seen["source"].bronze_root == "abfss://bronze@a.dfs.core.windows.net/"
    assert seen["source"].schema_root == "/Volumes/soundlake_dev/dev_alice_silver/checkpoints/_schemas"


def test_silver_entry_point_defaults_to_every_table_and_rejects_unknown(monkeypatch):
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress: seen.update(t=[t.name for t in tables]))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    job.main(["--catalog=c", "--silver-schema=s", "--bronze-root=b", "--checkpoint-root=/v"])
    assert seen["t"] == ["dim_albums", "dim_artists", "dim_tracks", "dim_users", "fact_streams"]
    with pytest.raises(SystemExit):
        job.main(["--catalog=c", "--silver-schema=s", "--bronze-root=b", "--checkpoint-root=/v",
                  "--table=nope"])


def test_views_entry_point_names_views_in_the_given_schema(monkeypatch):
    seen = {}
    monkeypatch.setattr("soundlake.silver.views.create_views",
                        lambda spark, lake, temporary: seen.update(lake=lake) or [])
    monkeypatch.setattr(job, "_session", lambda: "spark")
    assert job.views(["--catalog=soundlake_dev", "--silver-schema=dev_alice_silver"]) == 0
    assert seen["lake"].sql_name("silver", "track_catalog") == (
        "`soundlake_dev`.`dev_alice_silver`.`track_catalog`")


def test_catalog_and_schema_names_from_configuration_are_checked():
    from soundlake.lake import CatalogLake

    with pytest.raises(ValueError, match="silver schema name"):
        CatalogLake("soundlake", "/v", silver_schema="silver`; DROP TABLE x; --")
