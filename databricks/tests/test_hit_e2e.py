"""Hit prediction end to end on the local medallion's gold: demo bronze -> gold -> train,
register, score; a rerun of the scoring changes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from delta.tables import DeltaTable

from soundlake import lake as lk
from soundlake.local.demo_bronze import write_demo
from soundlake.local.hit import run as run_hit
from soundlake.local.medallion import run as run_medallion
from soundlake.ml.scoring import PREDICTIONS
from soundlake.ml.settings import hit_settings

SIZES = dict(users=30, tracks=250, streams_per_pass=800)
# the demo's streams span 90 days (2026-09-01 ..): a one-week window, a ten-day lookback and an
# as-of ten days before the last stream leave releases to learn from and some still open
SETTINGS = hit_settings().with_overrides(window_days=7, lookback_days=10, min_period_tracks=3,
                                         candidates=("random_forest",))
AS_OF = dt.datetime(2026, 11, 20)


@pytest.mark.local_only
def test_demo_gold_trains_registers_and_scores_idempotently(spark, tmp_path, capsys):
    bronze, lake_dir, mlflow_dir = tmp_path / "bronze", tmp_path / "lake", tmp_path / "mlflow"
    write_demo(bronze, **SIZES)
    run_medallion(spark, bronze, lake_dir, say=print)

    ds, result, reg, stats = run_hit(spark, lake_dir, mlflow_dir, SETTINGS, as_of=AS_OF)
    out = capsys.readouterr().out
    assert "test metric" in out and "baseline" in out and "random_forest *" in out
    assert f"registered soundlake_hit_model version {reg.version} as @champion" in out
    assert (mlflow_dir / "mlflow.db").is_file()
    counts = ds.role_counts()
    assert counts["train"] >= 40 and counts["score"] > 0 and ds.as_of == AS_OF
    assert stats.inserted == counts["score"] and stats.updated == 0

    lake = lk.PathLake(str(lake_dir))
    preds = lk.read(spark, lake, "gold", PREDICTIONS)
    assert preds.count() == counts["score"]
    assert {r.model_version for r in preds.select("model_version").distinct().collect()} == {reg.version}
    open_ids = set(ds.rows("score")["track_id"])
    assert {r.track_id for r in preds.select("track_id").collect()} == open_ids

    before = sorted(tuple(r) for r in preds.collect())
    version = DeltaTable.forPath(spark, lake.path("gold", PREDICTIONS)).history(1).first()["version"]
    _, _, _, again = run_hit(spark, lake_dir, mlflow_dir, SETTINGS, as_of=AS_OF, train=False)
    assert (again.inserted, again.updated) == (0, 0)
    assert sorted(tuple(r) for r in lk.read(spark, lake, "gold", PREDICTIONS).collect()) == before
    assert DeltaTable.forPath(spark, lake.path("gold", PREDICTIONS)).history(1).first()["version"] == version
