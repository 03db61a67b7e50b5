"""gold.track_hit_predictions: expectations, idempotent MERGE, unknown categories."""
from __future__ import annotations

import datetime as dt

import pytest
from delta.tables import DeltaTable

from hit_gold import planted_dataset
from soundlake import lake as lk
from soundlake.gold.expectations import ExpectationFailed
from soundlake.ml.model import train_and_select
from soundlake.ml.scoring import PREDICTIONS, predictions_frame, score_rows, write_predictions

T1 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def trained(spark):
    ds = planted_dataset(spark, 0)
    r = train_and_select(ds.rows("train"), list(ds.numeric), list(ds.categorical), ds.settings, 0)
    return ds, r.model


def _table(spark, lake):
    df = lk.read(spark, lake, "gold", PREDICTIONS)
    return sorted(tuple(r) for r in df.collect())


def _version(spark, lake):
    return DeltaTable.forPath(spark, lake.path("gold", PREDICTIONS)).history(1).first()["version"]


@pytest.mark.local_only
def test_rerun_with_the_same_model_version_leaves_the_table_unchanged(spark, tmp_path, trained):
    ds, model = trained
    lake = lk.PathLake(str(tmp_path / "lake"))
    scored = score_rows(model, ds.rows("score"), ds.settings.threshold)
    first = write_predictions(spark, lake, predictions_frame(spark, scored, "hit", "1", T1))
    assert (first.inserted, first.updated) == (len(scored), 0)
    rows, version = _table(spark, lake), _version(spark, lake)
    assert {r[-1] for r in rows} == {T1.replace(tzinfo=None)}

    again = write_predictions(spark, lake, predictions_frame(spark, scored, "hit", "1", T2))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(scored))
    assert _table(spark, lake) == rows and _version(spark, lake) == version  # no commit, scored_at kept

    newer = write_predictions(spark, lake, predictions_frame(spark, scored, "hit", "2", T2))
    assert newer.inserted == len(scored)
    assert len(_table(spark, lake)) == 2 * len(scored)  # one row per track and model version

    changed = scored.copy()
    changed.loc[0, "hit_probability"] = 0.0 if changed.loc[0, "hit_probability"] > 0.5 else 1.0
    changed.loc[0, "predicted_hit"] = changed.loc[0, "hit_probability"] >= 0.5
    upd = write_predictions(spark, lake, predictions_frame(spark, changed, "hit", "2", T2))
    assert (upd.inserted, upd.updated) == (0, 1)


@pytest.mark.local_only
def test_a_probability_outside_0_1_fails_and_writes_nothing(spark, tmp_path, trained):
    ds, model = trained
    lake = lk.PathLake(str(tmp_path / "lake"))
    bad = score_rows(model, ds.rows("score"), ds.settings.threshold)
    bad.loc[0, "hit_probability"] = 1.5
    with pytest.raises(ExpectationFailed, match="hit_probability_in_unit_interval"):
        write_predictions(spark, lake, predictions_frame(spark, bad, "hit", "1", T1))
    assert not lake.exists(spark, "gold", PREDICTIONS)


def test_unknown_categories_and_missing_values_still_score(trained):
    ds, model = trained
    rows = ds.rows("score").head(3).copy()
    rows.loc[0, "genre"] = "zydeco"            # a genre the model never saw
    rows.loc[1, "artist_country"] = None       # unknown country
    rows.loc[1, "duration_flag"] = "epic"
    rows.loc[2, "danceability"] = float("nan")  # a missing number
    out = score_rows(model, rows, ds.settings.threshold)
    assert out["hit_probability"].between(0, 1).all() and len(out) == 3
    assert (out["predicted_hit"] == (out["hit_probability"] >= ds.settings.threshold)).all()


def test_scoring_rows_without_a_feature_the_model_needs_are_refused(trained):
    ds, model = trained
    with pytest.raises(ValueError, match="danceability"):
        score_rows(model, ds.rows("score").drop(columns=["danceability"]), 0.5)
