"""Adding a table is one catalog entry, end to end; removing it stops it and leaves its data.

The real ingestion (the `soundlake` CLI, TypeScript) extracts from the embedded source into
Azurite (both started by tests/support/catalogSource.ts), and the local medallion (the function
`python -m soundlake.local.medallion` runs, on this suite's Spark session) takes bronze from
Azurite to silver and gold. The table added, dim_playlists, is named by no code: only by the
test catalog (the repository's soundlake.yaml plus one plain entry), and by this test's SQL.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest

from soundlake import lake as lk
from soundlake.catalog import load_catalog
from soundlake.local.medallion import run
from soundlake.local.mirror import mirror_bronze
from soundlake.silver.ingest import run_silver
from soundlake.silver.sources import LocalFileSource

ROOT = Path(__file__).resolve().parents[2]
TSX = ROOT / "node_modules" / ".bin" / "tsx"
CONTAINER = "bronze"
PLAYLISTS_ENTRY = """
  - name: dim_playlists
    source: { schema: public, table: dim_playlists }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [playlist_id]
    lagSeconds: 0
"""


class Source:
    """The servers of tests/support/catalogSource.ts; `sql` runs a statement on the source."""

    def __init__(self, proc: subprocess.Popen, lines: queue.Queue):
        self.proc, self.lines = proc, lines
        self.ready = self.answer(600)

    def answer(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer from catalogSource.ts within {timeout} s") from None
        if line is None:
            raise AssertionError("catalogSource.ts ended early (its stderr is in the test's output)")
        return json.loads(line)

    def sql(self, statement: str) -> None:
        self.proc.stdin.write(" ".join(statement.split()) + "\n")
        self.proc.stdin.flush()
        answer = self.answer(120)
        assert answer.get("ok"), answer

    def ingest(self, catalog: Path, *args: str) -> tuple[int, list[dict], str]:
        env = {**os.environ, "SOUNDLAKE_STORAGE": self.ready["storage"], "SOURCE_KIND": "postgres",
               "SOURCE_URL": self.ready["postgres"], "SOUNDLAKE_CONFIG": str(catalog),
               "BRONZE_CONTAINER": CONTAINER, "LOG_LEVEL": "error"}
        import sys, time
        t0 = time.monotonic()
        done = subprocess.run([str(TSX), "cli/soundlake.ts", "ingest", "--json", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        sys.__stderr__.write(f"TIMING ingest {time.monotonic() - t0:.1f}s\n")
        return done.returncode, json.loads(done.stdout) if done.stdout.strip().startswith("[") else [], done.stderr

    def blobs(self, prefix: str) -> dict[str, str]:
        from azure.storage.blob import ContainerClient

        cc = ContainerClient.from_connection_string(self.ready["storage"], CONTAINER)
        return {b.name: b.etag for b in cc.list_blobs(name_starts_with=prefix)}


@pytest.fixture(scope="module")
def source():
    if not TSX.exists():
        pytest.skip("needs node_modules (npm ci): the ingestion under test is the TypeScript CLI")
    proc = subprocess.Popen([str(TSX), "tests/support/catalogSource.ts"], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield Source(proc, lines)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _by_table(results: list[dict]) -> dict[str, dict]:
    return {r["table"]: r for r in results}


def _delta_log(lake_dir: Path, name: str) -> list[str]:
    return sorted(p.name for p in (lake_dir / "silver" / name / "_delta_log").glob("*.json"))


def _commits(checkpoint: Path) -> list[str]:
    """The micro-batches the checkpoint has committed."""
    return sorted(p.name for p in (checkpoint / "commits").iterdir() if not p.name.startswith("."))


def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.mark.local_only
def test_a_table_no_code_names_goes_from_source_to_silver_and_leaves_when_removed(spark, source, tmp_path, capsys):
    # nothing in the code knows the table: adding it is the catalog entry below and nothing else
    for folder in ("databricks/src", "databricks/resources", "functions", "shared"):
        named = [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".py", ".ts", ".yml", ".yaml")
                 and "playlist" in p.read_text(errors="ignore")]
        assert named == [], named
    repo_catalog = (ROOT / "soundlake.yaml").read_text()
    with_playlists, without = tmp_path / "with.yaml", tmp_path / "without.yaml"
    with_playlists.write_text(repo_catalog + PLAYLISTS_ENTRY)
    without.write_text(repo_catalog)
    lake_dir, bronze = tmp_path / "lake", tmp_path / "lake" / "bronze"
    lake = lk.PathLake(str(lake_dir))

    def medallion(catalog_file: Path) -> dict[str, int]:
        import sys, time
        t0 = time.monotonic()
        mirror_bronze(source.ready["storage"], CONTAINER, bronze)
        out = run(spark, bronze, lake_dir, say=print, catalog=load_catalog(catalog_file))
        sys.__stderr__.write(f"TIMING medallion {time.monotonic() - t0:.1f}s\n")
        return out

    source.sql("""CREATE TABLE public.dim_playlists (playlist_id integer PRIMARY KEY, owner_id integer NOT NULL,
                  title text NOT NULL, track_count integer, created_on date, updated_at timestamptz NOT NULL)""")
    source.sql("""INSERT INTO public.dim_playlists VALUES
                  (1, 3, 'Morning', 12, '2026-01-05', '2026-06-01 10:00:00+00'),
                  (2, 5, 'Run!', 30, '2026-02-01', '2026-06-02 10:00:00+00'),
                  (3, 3, 'Late night', NULL, NULL, '2026-06-03 10:00:00+00')""")

    # 1. ingest every table of the test catalog, then the medallion
    code, results, err = source.ingest(with_playlists)
    assert code == 0, err[-3000:]
    assert (_by_table(results)["dim_playlists"]["status"], _by_table(results)["dim_playlists"]["rows"]) == ("succeeded", 3)
    counts = medallion(with_playlists)
    out = capsys.readouterr().out
    assert "silver: dim_playlists -> silver.dim_playlists (contract: manifest _manifests/dim_playlists/s0000000001.json)" in out

    # bronze: the slice's file and manifest
    [data_file] = source.blobs("dim_playlists/")
    assert data_file.endswith("/dim_playlists__s0000000001__p00000.parquet")
    assert list(source.blobs("_manifests/dim_playlists/")) == ["_manifests/dim_playlists/s0000000001.json"]
    # silver: its rows, with the contract the manifest recorded, held by the table
    silver = lk.read(spark, lake, "silver", "dim_playlists")
    assert [(f.name, f.dataType.simpleString()) for f in silver.schema.fields] == [
        ("playlist_id", "int"), ("owner_id", "int"), ("title", "string"), ("track_count", "int"),
        ("created_on", "date"), ("updated_at", "timestamp"), ("_source_file", "string"), ("_ingested_at", "timestamp")]
    assert [(r.playlist_id, r.title, r.track_count) for r in silver.orderBy("playlist_id").collect()] == [
        (1, "Morning", 12), (2, "Run!", 30), (3, "Late night", None)]
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {lake.sql_name('silver', 'dim_playlists')}").collect()}
    assert props["soundlake.contract"] == "manifest _manifests/dim_playlists/s0000000001.json"
    assert lk.read(spark, lake, "silver", "dim_playlists_changes").count() == 3
    assert [r.rows for r in lk.read(spark, lake, "silver", "dim_playlists_ingest_log").collect()] == [3]
    checkpoint = lake_dir / "_checkpoints" / "silver" / "dim_playlists"
    assert _commits(checkpoint) == ["0"]
    # ... while gold builds as before
    assert counts["fact_stream"] == source.ready["size"]["streams"]
    assert counts["dim_user"] >= source.ready["size"]["users"]

    # 2. the source grows a column: bronze carries it, silver's held contract does not move, the
    #    values are rescued
    source.sql("ALTER TABLE public.dim_playlists ADD COLUMN mood text")
    source.sql("UPDATE public.dim_playlists SET mood = 'calm', title = 'Morning calm', "
               "updated_at = now() - interval '1 minute' WHERE playlist_id = 1")
    code, results, err = source.ingest(with_playlists, "--table", "dim_playlists")
    assert code == 0 and _by_table(results)["dim_playlists"]["rows"] == 1, err[-3000:]
    # (the medallion's silver step, for this table alone: the others have nothing new)
    mirror_bronze(source.ready["storage"], CONTAINER, bronze)
    playlists = load_catalog(with_playlists).table("dim_playlists")
    assert run_silver(spark, lake, LocalFileSource(str(bronze)), [playlists])["dim_playlists"].rescued == 1
    silver = lk.read(spark, lake, "silver", "dim_playlists")
    assert "mood" not in silver.columns
    assert [(r.playlist_id, r.title) for r in silver.orderBy("playlist_id").collect()] == [
        (1, "Morning calm"), (2, "Run!"), (3, "Late night")]
    [rescued] = lk.read(spark, lake, "silver", "dim_playlists_rescued").collect()
    assert (rescued.table_name, rescued.record_key) == ("dim_playlists", '{"playlist_id":1}')
    assert json.loads(rescued.rescued_data)["mood"] == "calm"
    assert _commits(checkpoint) == ["0", "1"]

    # 3. the table leaves the catalog: no longer extracted, its bronze and silver stay as they are
    source.sql("INSERT INTO public.dim_playlists VALUES (4, 7, 'New', 1, NULL, now() - interval '1 minute', 'busy')")
    bronze_before = {**source.blobs("dim_playlists/"), **source.blobs("_manifests/dim_playlists/")}
    silver_names = ["dim_playlists", "dim_playlists_changes", "dim_playlists_rescued", "dim_playlists_ingest_log"]
    logs_before = {n: _delta_log(lake_dir, n) for n in silver_names}
    checkpoint_before = _tree(checkpoint)
    code, results, err = source.ingest(without)
    assert code == 0, err[-3000:]
    assert "dim_playlists" not in _by_table(results) and "dim_users" in _by_table(results)
    code, _results, err = source.ingest(without, "--table", "dim_playlists")
    assert code == 2 and 'unknown table "dim_playlists"' in err
    assert {**source.blobs("dim_playlists/"), **source.blobs("_manifests/dim_playlists/")} == bronze_before
    counts_after = medallion(without)
    assert counts_after == counts
    assert {n: _delta_log(lake_dir, n) for n in silver_names} == logs_before
    assert _tree(checkpoint) == checkpoint_before
    assert lk.read(spark, lake, "silver", "dim_playlists").count() == 3
