"""MLflow records the run locally; the registered champion loads back and scores identically."""
from __future__ import annotations

import numpy as np
import pytest

from hit_gold import planted_dataset
from soundlake.ml.model import train_and_select
from soundlake.ml.tracking import databricks_place, load_version, local_place, log_and_register


@pytest.fixture(scope="module")
def registered(spark, tmp_path_factory):
    ds = planted_dataset(spark, 0)
    result = train_and_select(ds.rows("train"), list(ds.numeric), list(ds.categorical), ds.settings, 3)
    place = local_place(tmp_path_factory.mktemp("mlflow"), model_name="hit_test_model")
    return ds, result, place, log_and_register(result, ds, place)


def test_the_run_holds_parameters_metrics_and_the_model_with_signature(registered):
    import mlflow

    ds, result, place, reg = registered
    place.activate()
    run = mlflow.MlflowClient().get_run(reg.run_id)
    p, m = run.data.params, run.data.metrics
    assert p["window_days"] == "28" and p["chosen_model"] == result.chosen
    assert p["selected_by"] == "validation roc_auc" and p["as_of"] == ds.as_of.isoformat()
    assert m["test_roc_auc"] == pytest.approx(result.test[result.chosen]["roc_auc"])
    assert m["baseline_test_roc_auc"] == 0.5 and "importance_danceability" in m
    assert place.tracking_uri.startswith("sqlite:///") and place.tracking_uri.endswith("/mlflow.db")
    info = mlflow.models.get_model_info(f"models:/{reg.name}/{reg.version}")
    assert info.signature.inputs.input_names() == result.features
    assert info.saved_input_example_info is not None


def test_the_champion_loads_back_and_scores_the_same_rows_identically(registered):
    ds, result, place, reg = registered
    model, version = load_version(place, "champion")
    assert version == reg.version
    for role in ("score", "train"):
        x = ds.rows(role)[result.features]
        assert np.array_equal(model.predict_proba(x), result.model.predict_proba(x))


def test_a_second_run_moves_the_alias_to_its_version(registered):
    ds, result, place, reg = registered
    again = log_and_register(result, ds, place)
    assert int(again.version) == int(reg.version) + 1
    assert load_version(place, "champion")[1] == again.version


def test_unknown_alias_and_bad_names_are_clear_errors(registered, tmp_path):
    _ds, _r, place, _reg = registered
    with pytest.raises(LookupError, match="no version .* alias 'nope'"):
        load_version(place, "nope")
    with pytest.raises(ValueError, match="<catalog>.<schema>.<model>"):
        databricks_place("/Workspace/Shared/x", "hit_model")
    assert databricks_place("/Workspace/Shared/x", "cat.ml.hit_model").registry_uri == "databricks-uc"
