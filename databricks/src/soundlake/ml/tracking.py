"""MLflow: where runs and models go, what a run records, and loading the champion back.

Locally: a SQLite store (runs and the model registry) with artifacts beside it, under the
project's data folder (.soundlake/mlflow). On Databricks: the workspace's tracking server and
the Unity Catalog model registry (`databricks-uc`), with a three-level model name.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from soundlake.ml.dataset import HitDataset
from soundlake.ml.model import BASELINE, METRIC_NAMES, TrainResult, importance_table, metrics_table

UC_MODEL_NAME = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
LOCAL_MODEL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class MlflowPlace:
    tracking_uri: str
    registry_uri: str
    experiment: str
    model_name: str
    artifact_location: str | None = None  # only for experiments we create locally

    @property
    def on_databricks(self) -> bool:
        return self.tracking_uri.startswith("databricks")

    def activate(self) -> None:
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)


def local_place(root: str | Path, experiment: str = "soundlake-hit-prediction",
                model_name: str = "soundlake_hit_model") -> MlflowPlace:
    if not LOCAL_MODEL_NAME.match(model_name):
        raise ValueError(f"model name {model_name!r}: letters, digits, '_', '.', '-' only")
    root = Path(root).resolve()
    (root / "artifacts").mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowPlace(db, db, experiment, model_name, (root / "artifacts").as_uri())


def databricks_place(experiment: str | None, model_name: str) -> MlflowPlace:
    """`experiment` None: a place to read models from (scoring logs no run)."""
    if not UC_MODEL_NAME.match(model_name):
        raise ValueError(f"model name {model_name!r}: Unity Catalog needs <catalog>.<schema>.<model>")
    if experiment is not None and not experiment.startswith("/"):
        raise ValueError(f"experiment {experiment!r}: a workspace path such as /Workspace/Shared/...")
    return MlflowPlace("databricks", "databricks-uc", experiment or "", model_name)


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    run_id: str
    experiment_id: str


def _experiment_id(place: MlflowPlace) -> str:
    import mlflow

    if not place.experiment:
        raise ValueError("no MLflow experiment given: training needs one to record its run")
    exp = mlflow.get_experiment_by_name(place.experiment)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(place.experiment, artifact_location=place.artifact_location)


def run_params(result: TrainResult, ds: HitDataset) -> dict[str, str]:
    s = ds.settings
    counts = ds.role_counts()
    return {
        "window_days": str(s.window_days), "period": s.period, "min_period_tracks": str(s.min_period_tracks),
        "lookback_days": str(s.lookback_days), "test_fraction": str(s.test_fraction),
        "validation_fraction": str(s.validation_fraction), "seed": str(s.seed),
        "candidates": ",".join(s.candidates), "chosen_model": result.chosen,
        "selected_by": f"validation {result.selected_by}", "threshold": str(s.threshold),
        "history_start": ds.history_start.isoformat(), "as_of": ds.as_of.isoformat(),
        "rows_train": str(len(result.split.train)), "rows_validation": str(len(result.split.validation)),
        "rows_test": str(len(result.split.test)), "tracks_to_score": str(counts["score"]),
        "tracks_excluded": str(counts["excluded"]),
        "numeric_features": ",".join(result.numeric), "categorical_features": ",".join(result.categorical),
        **{f"split_{k}": v for k, v in result.split.bounds().items()},
    }


def run_metrics(result: TrainResult) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in METRIC_NAMES:
        out[f"test_{m}"] = result.test[result.chosen][m]
        out[f"baseline_test_{m}"] = result.test[BASELINE][m]
        for k in result.test:
            if k != BASELINE:
                out[f"test_{m}_{k}"] = result.test[k][m]
                out[f"validation_{m}_{k}"] = result.validation[k][m]
    out["test_roc_auc_lift"] = result.lift("roc_auc")
    out["test_accuracy_lift"] = result.lift("accuracy")
    for f, mean, _std in result.importances:
        out[f"importance_{f}"] = mean
    return out


def _pip_requirements() -> list[str]:
    import cloudpickle
    import mlflow
    import sklearn

    return [f"scikit-learn=={sklearn.__version__}", f"cloudpickle=={cloudpickle.__version__}",
            f"mlflow-skinny=={mlflow.__version__}"]


def log_and_register(result: TrainResult, ds: HitDataset, place: MlflowPlace) -> Registered:
    """One run (parameters, metrics, tables, the model with signature and example), registered
    as a new version of `place.model_name`, which then gets the settings' alias."""
    import mlflow
    from mlflow.models import infer_signature

    place.activate()
    exp_id = _experiment_id(place)
    x_train = result.split.train[result.features]
    with mlflow.start_run(experiment_id=exp_id, run_name=f"hit-{result.chosen}") as run:
        mlflow.log_params(run_params(result, ds))
        mlflow.log_metrics(run_metrics(result))
        mlflow.set_tags({"soundlake.model": "hit prediction", "chosen_model": result.chosen,
                         "selected_by": f"validation {result.selected_by} (test set not used to choose)"})
        mlflow.log_text(metrics_table(result) + "\n\n" + importance_table(result, top=50), "metrics.txt")
        mlflow.log_dict({"importances": [{"feature": f, "mean": m, "std": s} for f, m, s in result.importances],
                         "excluded": ds.reasons()}, "report.json")
        signature = infer_signature(x_train, result.model.predict_proba(x_train)[:, 1])
        info = mlflow.sklearn.log_model(
            result.model, name="model", signature=signature, input_example=x_train.head(5),
            serialization_format="cloudpickle", pip_requirements=_pip_requirements(),
            registered_model_name=place.model_name)
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(place.model_name, ds.settings.alias, version)
    return Registered(place.model_name, version, run.info.run_id, exp_id)


@contextmanager
def _trusting_own_registry(place: MlflowPlace):
    """MLflow refuses to unpickle a model unless told the source is trusted. Ours is: the
    local store this project wrote (Databricks runtimes are trusted by MLflow itself)."""
    key = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
    before = os.environ.get(key)
    if not place.on_databricks:
        os.environ[key] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def load_version(place: MlflowPlace, alias: str):
    """(model, version) of the version that `alias` points to, loaded from the registry."""
    import mlflow

    place.activate()
    try:
        mv = mlflow.MlflowClient().get_model_version_by_alias(place.model_name, alias)
    except mlflow.exceptions.MlflowException as e:
        raise LookupError(f"no version of model {place.model_name!r} has alias {alias!r}: train first") from e
    with _trusting_own_registry(place):
        model = mlflow.sklearn.load_model(f"models:/{place.model_name}/{mv.version}")
    return model, str(mv.version)
