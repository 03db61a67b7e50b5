"""Silver under Spark Connect (what Databricks serverless runs) and without a DataFrame cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from soundlake import lake as lk
from soundlake.local.demo_bronze import write_slice
from soundlake.silver.ingest import changes_name, ingest_log_name, rescued_name, run_table
from soundlake.silver.sources import LocalFileSource
from demo_tables import table
from test_silver_stream import silver_users, user

USERS = table("dim_users")
HERE = Path(__file__).resolve().parent


def _bronze(root: Path) -> None:
    write_slice(root, USERS, [user(1, "alice", "free", 1), user(2, "bob", "premium", 1),
                              user(3, "cy", "free", 1)], "s0000000001", "2026-01-01",
                kind="initial", max_rows_per_file=2)
    write_slice(root, USERS, [{**user(2, "bob", "family", 3), "mood": "happy"}],
                "s0000000002", "2026-01-03", extra_columns={"mood": pa.string()})


@pytest.mark.local_only
def test_silver_counts_under_a_spark_connect_session(spark, tmp_path):
    """Under Connect the batch function runs in a worker process: counts it assigned to the
    caller's variables stayed zero. They now come from the ingest log, so they are right."""
    bronze, lake_dir = tmp_path / "bronze", tmp_path / "lake"
    _bronze(bronze)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), str(HERE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(HERE / "connect_silver_run.py"), str(bronze), str(lake_dir), "dim_users"],
        capture_output=True, text=True, env=env, timeout=1200)
    lines = [x for x in done.stdout.splitlines() if x.startswith("STATS ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    stats = json.loads(lines[-1][len("STATS "):])
    assert (len(stats["files"]), stats["rows"], stats["rescued"]) == (3, 4, 1)
    assert stats["batches"] >= 1
    # what the Connect run wrote, read back through this (classic) session
    lake = lk.PathLake(str(lake_dir))
    assert silver_users(spark, lake) == [(1, "ALICE", "free", 1), (2, "BOB", "family", 3),
                                         (3, "CY", "free", 1)]
    assert lk.read(spark, lake, "silver", rescued_name(USERS)).count() == 1


@pytest.mark.local_only
def test_a_batch_stamps_one_ingested_at_in_every_table_even_without_a_cache(spark, tmp_path, monkeypatch):
    """Serverless before environment version 5 refuses persist(): each write then recomputes the
    batch. The time stamp is still the batch's one instant in every table it writes."""
    def refuse(self, *a, **k):
        raise RuntimeError("[NOT_SUPPORTED_WITH_SERVERLESS] PERSIST TABLE is not supported")

    monkeypatch.setattr(type(spark.range(1)), "persist", refuse)
    bronze, lake = tmp_path / "bronze", lk.PathLake(str(tmp_path / "lake"))
    _bronze(bronze)
    s = run_table(spark, lake, LocalFileSource(str(bronze)), USERS)
    assert (len(s.files), s.rows, s.rescued) == (3, 4, 1)

    def stamps(name: str, col: str = "_ingested_at") -> set:
        return {r[0] for r in lk.read(spark, lake, "silver", name).select(col).distinct().collect()}

    log = stamps(ingest_log_name(USERS), "ingested_at")
    assert len(log) == s.batches  # one stamp per micro-batch
    assert stamps("users") <= log and stamps(changes_name(USERS)) == log
    assert stamps(rescued_name(USERS), "ingested_at") <= log
    # per key: the latest table and the change feed carry the same stamp for the same version
    joined = lk.read(spark, lake, "silver", "users").alias("l").join(
        lk.read(spark, lake, "silver", changes_name(USERS)).alias("c"),
        ["user_id", "updated_at"]).where("l._ingested_at <> c._ingested_at")
    assert joined.count() == 0
