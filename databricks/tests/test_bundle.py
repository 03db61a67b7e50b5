"""The Databricks Asset Bundle, checked without a workspace.

No `databricks` CLI (and so no `bundle validate` or `bundle schema`) can be installed here;
the bundle's JSON schema ships in no PyPI or npm package. Instead every resource is loaded
into the typed models of `databricks-bundles` (generated from the same API specification;
they reject unknown fields and wrong types), and the bundle's structure is checked below.
"""
from __future__ import annotations

import json
import re
import tomllib
from importlib import import_module
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = sorted((ROOT / "resources").glob("*.yml"))
TYPE_SUFFIX = {"job": "jobs", "pipeline": "pipelines", "schema": "schemas", "volume": "volumes",
               "external_location": "external_locations", "registered_model": "registered_models",
               "experiment": "experiments"}


def load(p: Path) -> dict:
    return yaml.safe_load(p.read_text())


BUNDLE = load(ROOT / "databricks.yml")


def all_resources() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for f in RESOURCES:
        for kind, items in load(f)["resources"].items():
            for key, body in items.items():
                assert key not in out.get(kind, {}), f"{kind}.{key} defined twice"
                out.setdefault(kind, {})[key] = body
    return out


def test_databricks_yml_holds_only_name_includes_artifacts_variables_targets():
    assert set(BUNDLE) == {"bundle", "include", "artifacts", "variables", "targets"}
    assert BUNDLE["bundle"]["name"] == "soundlake"
    assert BUNDLE["include"] == ["resources/*.yml"]
    for v in ("catalog", "storage_account", "bronze_location", "notification_emails", "storage_credential"):
        assert BUNDLE["variables"][v]["description"]
    assert BUNDLE["variables"]["notification_emails"]["type"] == "complex"


def test_targets_dev_development_default_and_prod_production_with_fixed_root():
    dev, prod = BUNDLE["targets"]["dev"], BUNDLE["targets"]["prod"]
    assert dev["mode"] == "development" and dev["default"] is True
    assert prod["mode"] == "production" and "default" not in prod
    root = prod["workspace"]["root_path"]
    assert root.startswith("/Workspace/Shared/") and "current_user" not in root
    assert dev["variables"]["catalog"] != prod["variables"]["catalog"]


def test_one_resource_per_file_named_key_dot_type():
    assert RESOURCES, "no resource files"
    for f in RESOURCES:
        m = re.fullmatch(r"([a-z_]+)\.([a-z_]+)\.yml", f.name)
        assert m, f"{f.name} is not <key>.<type>.yml"
        key, typ = m.groups()
        doc = load(f)["resources"]
        assert list(doc) == [TYPE_SUFFIX[typ]], f"{f.name} must hold only {TYPE_SUFFIX[typ]}"
        assert list(doc[TYPE_SUFFIX[typ]]) == [key], f"{f.name} must hold exactly resource {key!r}"
    names = {f.name for f in RESOURCES}
    assert {"silver.job.yml", "gold.pipeline.yml", "medallion.job.yml"} <= names


MODELS = {
    "jobs": ("databricks.bundles.jobs", "Job"),
    "pipelines": ("databricks.bundles.pipelines", "Pipeline"),
    "schemas": ("databricks.bundles.schemas", "Schema"),
    "volumes": ("databricks.bundles.volumes", "Volume"),
    "external_locations": ("databricks.bundles.external_locations", "ExternalLocation"),
    "registered_models": ("databricks.bundles.registered_models", "RegisteredModel"),
    "experiments": ("databricks.bundles.experiments", "MlflowExperiment"),
}


@pytest.mark.parametrize("kind,key", [(k, n) for k, v in all_resources().items() for n in v])
def test_resource_fits_the_bundle_model(kind, key):
    mod, cls = MODELS[kind]
    model = getattr(import_module(mod), cls)
    body = all_resources()[kind][key]
    parsed = model.from_dict(body)  # raises on unknown fields or wrong types
    assert parsed.as_dict()


def test_the_models_do_reject_a_wrong_resource():
    from databricks.bundles.jobs import Job

    body = dict(all_resources()["jobs"]["medallion"], max_concurent_runs=1)
    with pytest.raises(ValueError, match="max_concurent_runs"):
        Job.from_dict(body)


def _texts() -> str:
    return "\n".join(p.read_text() for p in [ROOT / "databricks.yml", *RESOURCES])


def test_every_variable_used_is_declared_and_every_resource_reference_exists():
    text = _texts()
    used = set(re.findall(r"\$\{var\.([A-Za-z_]+)\}", text))
    assert used and used <= set(BUNDLE["variables"]), used - set(BUNDLE["variables"])
    res = all_resources()
    for kind, key, _attr in re.findall(r"\$\{resources\.([a-z_]+)\.([a-z_]+)\.([a-z_]+)\}", text):
        assert key in res.get(kind, {}), f"${{resources.{kind}.{key}}} does not exist"
    for prod_var in BUNDLE["targets"]["prod"].get("variables", {}):
        assert prod_var in BUNDLE["variables"]


def test_medallion_runs_silver_then_gold_and_mails_on_failure():
    jobs, pipes = all_resources()["jobs"], all_resources()["pipelines"]
    med = {t["task_key"]: t for t in jobs["medallion"]["tasks"]}
    assert med["silver"]["run_job_task"]["job_id"] == "${resources.jobs.silver.id}"
    assert med["gold"]["pipeline_task"]["pipeline_id"] == "${resources.pipelines.gold.id}"
    assert med["gold"]["depends_on"] == [{"task_key": "silver"}]
    for job in jobs.values():
        assert job["email_notifications"]["on_failure"] == "${var.notification_emails}"
        assert job["max_concurrent_runs"] == 1 and job["queue"]["enabled"] is True
    alerts = pipes["gold"]["notifications"][0]
    assert alerts["email_recipients"] == "${var.notification_emails}"
    assert "on-update-failure" in alerts["alerts"]


def test_unity_catalog_names_external_locations_and_no_keys():
    res = all_resources()
    gold = res["pipelines"]["gold"]
    assert gold["catalog"] == "${var.catalog}" and gold["schema"] == "${resources.schemas.gold.name}"
    assert {s["name"] for s in res["schemas"].values()} == {"silver", "gold", "ml"}
    for loc in res["external_locations"].values():
        assert loc["credential_name"] == "${var.storage_credential}"
        assert loc["url"].startswith("${var.")
    assert res["external_locations"]["bronze"]["read_only"] is True
    assert res["volumes"]["checkpoints"]["volume_type"] == "EXTERNAL"
    text = _texts().lower()
    for secret_word in ("accountkey", "sig=", "sharedaccesssignature", "client_secret", "dapi"):
        assert secret_word not in text


def test_silver_job_covers_every_bronze_table_and_its_entry_points_exist():
    from soundlake.bronze import DEMO_TABLES

    silver = all_resources()["jobs"]["silver"]
    ingest = next(t for t in silver["tasks"] if t["task_key"] == "ingest")
    assert sorted(json.loads(ingest["for_each_task"]["inputs"])) == sorted(DEMO_TABLES)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    wheel_tasks = [ingest["for_each_task"]["task"]["python_wheel_task"]] + [
        t["python_wheel_task"] for t in silver["tasks"] if "python_wheel_task" in t]
    for wt in wheel_tasks:
        assert wt["package_name"] == "soundlake"
        mod, fn = scripts[wt["entry_point"]].split(":")
        assert callable(getattr(import_module(mod), fn))


def test_pipeline_sources_exist_one_dataset_file_each():
    gold = all_resources()["pipelines"]["gold"]
    base = ROOT / "resources"
    assert (base / gold["root_path"] / "soundlake" / "__init__.py").resolve().exists()
    [lib] = gold["libraries"]
    folder = (base / lib["glob"]["include"].rstrip("*").rstrip("/")).resolve()
    files = sorted(p.stem for p in folder.glob("*.py"))
    assert files == sorted(["dim_user", "dim_user_feed", "dim_artist", "dim_artist_feed", "dim_album",
                            "dim_album_feed", "dim_track", "dim_track_feed", "dim_date", "fact_stream",
                            "fact_stream_quality"])


def test_hit_model_job_trains_then_scores_with_pinned_ml_packages_and_uc_names():
    res = all_resources()
    job = res["jobs"]["hit_model"]
    tasks = {t["task_key"]: t for t in job["tasks"]}
    assert tasks["score"]["depends_on"] == [{"task_key": "train"}]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    model_name = ("--model-name=${var.catalog}.${resources.schemas.ml.name}."
                  "${resources.registered_models.hit_model.name}")
    for key, entry in (("train", "hit-train"), ("score", "hit-score")):
        wt = tasks[key]["python_wheel_task"]
        assert wt["package_name"] == "soundlake" and wt["entry_point"] == entry
        mod, fn = scripts[entry].split(":")
        assert callable(getattr(import_module(mod), fn))
        assert model_name in wt["parameters"] and "--catalog=${var.catalog}" in wt["parameters"]
    assert "--experiment=${resources.experiments.hit_model.name}" in tasks["train"]["python_wheel_task"]["parameters"]
    [env] = job["environments"]
    assert {t["environment_key"] for t in job["tasks"]} == {env["environment_key"]}
    pins = {line.split("==")[0].lower(): line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    deps = env["spec"]["dependencies"]
    assert deps[0] == "../dist/*.whl"
    for dep in deps[1:]:
        assert dep == pins[dep.split("==")[0].lower()], f"{dep} differs from requirements.txt"
    assert {d.split("==")[0] for d in deps[1:]} == {"scikit-learn", "mlflow-skinny"}
    model = res["registered_models"]["hit_model"]
    assert model["catalog_name"] == "${var.catalog}" and model["schema_name"] == "${resources.schemas.ml.name}"


def test_hit_job_entry_points_parse_their_arguments(monkeypatch):
    from soundlake.jobs import hit

    seen = {}
    monkeypatch.setattr(hit, "_session", lambda: "spark")
    monkeypatch.setattr("soundlake.ml.steps.dataset",
                        lambda spark, lake, settings, as_of=None: seen.update(lake=lake, settings=settings) or "ds")
    monkeypatch.setattr("soundlake.ml.steps.train", lambda ds, place: seen.update(place=place))
    assert hit.train(["--catalog=c", "--experiment=/Workspace/Shared/x", "--model-name=c.ml.hit_model",
                      "--window-days=14"]) == 0
    assert seen["settings"].window_days == 14 and seen["lake"].sql_name("gold", "dim_track") == "`c`.`gold`.`dim_track`"
    assert (seen["place"].tracking_uri, seen["place"].registry_uri) == ("databricks", "databricks-uc")
    with pytest.raises(ValueError, match="<catalog>.<schema>.<model>"):
        hit.train(["--catalog=c", "--experiment=/Workspace/Shared/x", "--model-name=hit_model"])
