"""The Databricks Asset Bundle, checked without a workspace.

No `databricks` CLI (and so no `bundle validate` or `bundle schema`) can be installed here;
the bundle's JSON schema ships in no PyPI or npm package. Instead every resource is loaded
into the typed models of `databricks-bundles` (generated from the same API specification;
they reject unknown fields and wrong types), and the bundle's structure is checked below.
"""
from __future__ import annotations

import ast
import copy
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
               "external_location": "external_locations", "sql_warehouse": "sql_warehouses",
               "registered_model": "registered_models", "experiment": "experiments"}


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


def test_databricks_yml_holds_only_name_includes_artifacts_python_variables_targets():
    assert set(BUNDLE) == {"bundle", "include", "artifacts", "python", "variables", "targets"}
    assert BUNDLE["python"] == {"venv_path": "../.venv",
                                "mutators": ["resources.catalog_mutator:silver_tables",
                                             "resources.catalog_mutator:spotify_pull"]}
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
    "sql_warehouses": ("databricks.bundles.sql_warehouses", "SqlWarehouse"),
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


def test_silver_job_entry_points_exist():
    silver = all_resources()["jobs"]["silver"]
    ingest = next(t for t in silver["tasks"] if t["task_key"] == "ingest")
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
                            "fact_stream_quality", "fact_spotify_track_daily",
                            "fact_spotify_artist_daily", "spotify_daily_quality"])


def test_serving_warehouse_is_serverless_auto_stopping_and_bi_reads_gold_only():
    res = all_resources()
    wh = res["sql_warehouses"]["serving"]
    assert wh["enable_serverless_compute"] is True and wh["warehouse_type"] == "PRO"
    assert 1 <= wh["auto_stop_mins"] <= 30
    assert {"group_name": "${var.bi_group}", "level": "CAN_USE"} in wh["permissions"]
    # The BI group appears in exactly two places: CAN_USE on the warehouse, read on gold.
    grants = [(kind, key, g) for kind, items in res.items() for key, body in items.items()
              for g in body.get("grants", []) if g["principal"] == "${var.bi_group}"]
    assert grants == [("schemas", "gold", {"principal": "${var.bi_group}", "privileges": ["USE_SCHEMA", "SELECT"]})]
    perms = [(kind, key) for kind, items in res.items() for key, body in items.items()
             for p in body.get("permissions", []) if "${var.bi_group}" in p.values()]
    assert perms == [("sql_warehouses", "serving")]


# --- the bundle as the CLI renders it for each target (tests/bundle_render.py) ----------------
from bundle_render import render, schema_prefix, short_name, unresolved  # noqa: E402

USER = "jane.doe@example.com"
VARS = {"storage_account": "stsoundlake", "data_engineers_group": "soundlake-data-engineers",
        "analysts_group": "soundlake-analysts", "bi_group": "soundlake-bi",
        "function_app_application_id": "00000000-0000-0000-0000-00000000a99f"}


def _params(task: dict) -> dict[str, str]:
    return dict(p[2:].split("=", 1) for p in task["python_wheel_task"]["parameters"])


def test_the_renderer_follows_the_cli_naming_rules():
    assert short_name("jane.doe@example.com") == "jane_doe"
    assert short_name("Zoë-Ann.O'Brien@x.org") == "zoë_ann_o_brien"
    assert schema_prefix("[dev jane_doe] ") == "dev_jane_doe_"
    dev = render("dev", USER, VARS)["resources"]
    assert dev["schemas"]["silver"]["name"] == "dev_jane_doe_silver"
    assert dev["jobs"]["silver"]["name"] == "[dev jane_doe] soundlake-silver"
    assert dev["volumes"]["checkpoints"]["name"] == "checkpoints"  # volumes keep their names
    prod = render("prod", USER, VARS)["resources"]
    assert prod["schemas"]["silver"]["name"] == "silver" and prod["jobs"]["silver"]["name"] == "soundlake-silver"
    with pytest.raises(ValueError, match="required variable storage_account"):
        render("prod", USER, {k: v for k, v in VARS.items() if k != "storage_account"})


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_schema_reference_resolves_to_the_rendered_schema(target, monkeypatch):
    """dev renames schemas to dev_<user>_silver/_gold: the jobs, the checkpoint volume path and
    the pipeline must all name the renamed schemas, and the code must use what they pass."""
    from soundlake.catalog import load_catalog
    from soundlake.gold.pipeline import silver_table
    from soundlake.jobs import silver as job

    r = render(target, USER, VARS)
    res = r["resources"]
    assert unresolved(res) == [], unresolved(res)
    catalog = r["variables"]["catalog"]
    silver, gold = res["schemas"]["silver"], res["schemas"]["gold"]
    vol = res["volumes"]["checkpoints"]
    assert silver["catalog_name"] == gold["catalog_name"] == vol["catalog_name"] == catalog
    assert vol["schema_name"] == silver["name"]
    volume_path = f"/Volumes/{vol['catalog_name']}/{vol['schema_name']}/{vol['name']}"

    tasks = {t["task_key"]: t for t in res["jobs"]["silver"]["tasks"]}
    ingest = _params(tasks["ingest"]["for_each_task"]["task"])
    views = _params(tasks["views"])
    assert ingest["catalog"] == views["catalog"] == catalog
    assert ingest["silver-schema"] == views["silver-schema"] == silver["name"]
    assert ingest["checkpoint-root"] == volume_path

    # the wheel entry point, given exactly these parameters, names the rendered objects
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress, concurrency:
                        seen.update(lake=lake, tables=[t.name for t in tables], concurrency=concurrency))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    [first] = _ingest_inputs(r)  # {{input}}: the iteration's element, a string
    assert ingest["group"] == "{{input}}"
    job.main([f"--{k}={v.replace('{{input}}', first)}" for k, v in ingest.items()])
    assert seen["tables"] == load_catalog(ROOT.parent / "soundlake.yaml").names and seen["concurrency"] == 4
    assert seen["lake"].sql_name("silver", "users") == f"`{catalog}`.`{silver['name']}`.`users`"
    assert seen["lake"].checkpoint("silver", "users").startswith(volume_path + "/")

    pipe = res["pipelines"]["gold"]
    assert (pipe["catalog"], pipe["schema"]) == (catalog, gold["name"])

    # the hit job reads and writes the rendered gold schema, and registers in the rendered ml schema
    from soundlake.jobs import hit

    hit_lakes = []
    monkeypatch.setattr(hit, "_session", lambda: "spark")
    monkeypatch.setattr("soundlake.ml.steps.dataset",
                        lambda spark, lake, settings, as_of=None: hit_lakes.append(lake) or "ds")
    monkeypatch.setattr("soundlake.ml.steps.train", lambda ds, place: None)
    monkeypatch.setattr("soundlake.ml.steps.score", lambda spark, lake, ds, place: None)
    for t in res["jobs"]["hit_model"]["tasks"]:
        params = t["python_wheel_task"]["parameters"]
        getattr(hit, t["python_wheel_task"]["entry_point"].removeprefix("hit-"))(params)
        assert _params(t)["model-name"].startswith(f"{catalog}.{res['schemas']['ml']['name']}.")
    assert [lk.sql_name("gold", "dim_track") for lk in hit_lakes] == [f"`{catalog}`.`{gold['name']}`.`dim_track`"] * 2

    class PipelineSpark:
        class conf:  # noqa: N801 - mirrors spark.conf
            get = staticmethod(pipe["configuration"].__getitem__)

    assert silver_table(PipelineSpark, "users_changes") == f"{catalog}.{silver['name']}.users_changes"


def test_unity_catalog_names_differ_between_targets_sharing_a_metastore():
    """dev and prod share the region's metastore: credentials, external locations and
    catalogs must not collide (external locations and volumes are never renamed by dev mode)."""
    dev, prod = render("dev", USER, VARS), render("prod", USER, VARS)

    def uc_names(r: dict) -> set[str]:
        res = r["resources"]
        return ({r["variables"]["storage_credential"], r["variables"]["catalog"]}
                | {loc["name"] for loc in res["external_locations"].values()})

    assert uc_names(dev).isdisjoint(uc_names(prod)), uc_names(dev) & uc_names(prod)
    for r in (dev, prod):
        creds = {loc["credential_name"] for loc in r["resources"]["external_locations"].values()}
        assert creds == {r["variables"]["storage_credential"]}


def test_principals_are_variables_that_must_be_given():
    """Groups and the app's service principal are created outside the bundle (one-time steps):
    each is a variable without a default, so a deploy without them stops before it starts,
    naming the variable, instead of failing halfway on a principal that does not exist."""
    res = all_resources()
    principals = [g["principal"] for kind in res.values() for body in kind.values()
                  for g in body.get("grants", [])]
    principals += [p.get("group_name") or p.get("service_principal_name") or p.get("user_name")
                   for kind in res.values() for body in kind.values() for p in body.get("permissions", [])]
    principals += [p["group_name"] for p in BUNDLE["targets"]["prod"].get("permissions", [])]
    assert principals
    for p in principals:
        m = re.fullmatch(r"\$\{var\.([a-z_]+)\}", p)
        assert m, f"principal {p!r} is not a variable"
        decl = BUNDLE["variables"][m[1]]
        assert "default" not in decl and "one-time step" in decl["description"], m[1]


def test_the_function_app_may_run_the_medallion_job_and_a_deploy_keeps_it():
    med = all_resources()["jobs"]["medallion"]
    assert {"service_principal_name": "${var.function_app_application_id}",
            "level": "CAN_MANAGE_RUN"} in med["permissions"]
    assert {p.get("service_principal_name") for j in all_resources()["jobs"].values()
            for p in j.get("permissions", [])} == {"${var.function_app_application_id}"}


def test_wheel_version_changes_with_every_build():
    art = BUNDLE["artifacts"]["soundlake"]
    assert art["type"] == "whl" and art["dynamic_version"] is True


def test_silver_runs_on_a_serverless_environment_that_caches_micro_batches():
    [env] = all_resources()["jobs"]["silver"]["environments"]
    assert int(env["spec"]["environment_version"]) >= 5


def test_the_pipeline_environment_provides_what_its_sources_import():
    """The pipeline's Python imports soundlake from the source folder; soundlake imports
    PyYAML. The environment installs the bundle root editable, so pyproject.toml's
    dependencies come with it; every third-party module the pipeline files load must be one
    of those (or pyspark, which the runtime provides)."""
    import subprocess
    import sys

    pipe = all_resources()["pipelines"]["gold"]
    assert pipe["environment"]["dependencies"] == ["--editable ${workspace.file_path}"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-")
                for d in project["dependencies"]}

    files = sorted((ROOT / "src" / "gold_pipeline").glob("*.py"))
    modules = sorted({n.module for f in files for n in ast.walk(ast.parse(f.read_text()))
                      if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("soundlake")})
    probe = (
        "import importlib, json, sys\n"
        "before = set(sys.modules)\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from importlib.metadata import packages_distributions as pd\n"
        "dists = pd()\n"
        "top = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "third = {t: dists.get(t, []) for t in top if t not in sys.stdlib_module_names\n"
        "         and getattr(sys.modules.get(t), '__file__', None)  # not built into the interpreter\n"
        "         and t not in ('soundlake', 'pyspark', 'py4j') and not t.startswith('_')}\n"
        "print(json.dumps(third))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    third = json.loads(out.stdout.strip().splitlines()[-1])
    assert "yaml" in third  # the dependency the pipeline used to miss
    for module, dists in third.items():
        assert {d.lower().replace("_", "-") for d in dists} & declared, (
            f"the pipeline imports {module} ({dists}), which pyproject.toml does not declare")
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


# --- the silver job's tables come from the table catalog (resources/catalog_mutator.py) ------
def _ingest_inputs(rendered: dict) -> list[str]:
    [ingest] = [t for t in rendered["resources"]["jobs"]["silver"]["tasks"] if t["task_key"] == "ingest"]
    return json.loads(ingest["for_each_task"]["inputs"])


def _catalog_file(tmp_path: Path, text: str) -> dict[str, str]:
    f = tmp_path / "catalog.yaml"
    f.write_text(text)
    return {"SOUNDLAKE_CONFIG": str(f)}


PLAYLISTS = """
  - name: dim_playlists
    source: { schema: public, table: dim_playlists }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [playlist_id]
"""


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_the_silver_job_iterates_over_groups_of_the_tables_of_the_catalog(target):
    """No hand-written table list in the bundle: the CLI's Python mutator (run here through
    databricks-bundles' own entry point) sets the for_each inputs from soundlake.yaml, one key
    per group of at most var.silver_tables_per_task tables (the repository's 5: one group)."""
    from soundlake.catalog import load_catalog
    from soundlake.silver.groups import silver_groups

    assert json.loads(next(t for t in all_resources()["jobs"]["silver"]["tasks"]
                           if t["task_key"] == "ingest")["for_each_task"]["inputs"]) == []
    catalog = load_catalog(ROOT.parent / "soundlake.yaml")
    rendered = render(target, USER, VARS)
    assert rendered["variables"]["silver_tables_per_task"] == 50
    assert _ingest_inputs(rendered) == list(silver_groups(catalog.tables, 50)) == ["default/0"]


CRM = """sources:
  - { name: crm, kind: postgres, url: { setting: CRM_DB_URL }, maxConnections: 4 }
"""


def _crm_table(name: str) -> str:
    return f"""
  - name: {name}
    source: {{ name: crm, schema: public, table: {name} }}
    watermark: {{ column: updated_at, kind: timestamp }}
    primaryKey: [id]
"""


def test_the_groups_hold_one_source_s_tables_at_most_tables_per_task_each(tmp_path, monkeypatch):
    """5 default-source tables and 3 crm tables at 2 per task: 3 + 2 groups, and the task given
    a key runs exactly that group's tables."""
    from soundlake.jobs import silver as job

    base = (ROOT.parent / "soundlake.yaml").read_text().replace("tables:\n", CRM + "tables:\n", 1)
    text = base + "".join(_crm_table(n) for n in ("crm_accounts", "crm_contacts", "crm_deals"))
    env = _catalog_file(tmp_path, text)
    r = render("prod", USER, {**VARS, "silver_tables_per_task": 2}, env=env)
    assert _ingest_inputs(r) == ["default/0", "default/1", "default/2", "crm/0", "crm/1"]

    [ingest] = [t for t in r["resources"]["jobs"]["silver"]["tasks"] if t["task_key"] == "ingest"]
    params = _params(ingest["for_each_task"]["task"])
    assert params["tables-per-task"] == "2"
    seen = {}
    monkeypatch.setattr("soundlake.silver.ingest.run_silver",
                        lambda spark, lake, source, tables, progress, concurrency:
                        seen.setdefault("groups", []).append([t.name for t in tables]))
    monkeypatch.setattr(job, "_session", lambda: "spark")
    for key in _ingest_inputs(r):
        job.main([f"--{k}={v.replace('{{input}}', key)}" for k, v in params.items()]
                 + [f"--table-catalog={env['SOUNDLAKE_CONFIG']}"])
    assert seen["groups"] == [["dim_users", "dim_artists"], ["dim_albums", "dim_tracks"], ["fact_streams"],
                              ["crm_accounts", "crm_contacts"], ["crm_deals"]]


def test_a_table_added_to_or_removed_from_the_catalog_changes_only_the_inputs(tmp_path):
    base = (ROOT.parent / "soundlake.yaml").read_text()
    small = {**VARS, "silver_tables_per_task": 2}
    before = render("prod", USER, small)
    added = render("prod", USER, small, env=_catalog_file(tmp_path, base + PLAYLISTS))
    # 5 tables in groups of 2, then 6: the last group takes the new table, no new iteration
    assert _ingest_inputs(before) == _ingest_inputs(added) == ["default/0", "default/1", "default/2"]
    # at the default size every table is in the one group: the job's iterations do not change
    assert _ingest_inputs(render("prod", USER, VARS, env=_catalog_file(tmp_path, base + PLAYLISTS))) == ["default/0"]

    def without_inputs(r: dict) -> dict:
        res = copy.deepcopy(r["resources"])
        for t in res["jobs"]["silver"]["tasks"]:
            t.get("for_each_task", {}).pop("inputs", None)
        res["pipelines"]["gold"]["configuration"].pop("soundlake.spotify_pull", None)
        return res

    # nothing else in the bundle names tables: no resource is created or dropped with one, and
    # the mutators change nothing but the inputs (and whether gold has the Spotify pull)
    assert without_inputs(added) == without_inputs(before)
    assert without_inputs(before) == without_inputs(render("prod", USER, small, python=False))


def test_a_bad_catalog_stops_the_deploy_naming_the_table_and_field(tmp_path):
    from bundle_render import PythonMutatorError

    bad = (ROOT.parent / "soundlake.yaml").read_text().replace("kind: timestamp }\n    primaryKey: [album_id]",
                                                                "kind: clock }\n    primaryKey: [album_id]")
    with pytest.raises(PythonMutatorError, match=r'tables\[2\]\.watermark\.kind: must be one of "timestamp"'):
        render("prod", USER, VARS, env=_catalog_file(tmp_path, bad))
    no_streams = (ROOT.parent / "soundlake.yaml").read_text().replace("name: streams", "name: plays")
    with pytest.raises(PythonMutatorError, match=r"silver table 'streams' \(read by fact_stream, dim_date\)"):
        render("prod", USER, VARS, env=_catalog_file(tmp_path, no_streams))


def test_the_mutator_needs_no_spark_where_the_cli_runs_it(tmp_path):
    """The deploying machine's venv needs databricks-bundles and the soundlake package, not
    Spark: the catalog, the views and gold's needs are checked without importing pyspark."""
    import subprocess
    import sys

    probe = ("import sys; sys.modules['pyspark'] = None\n"  # any import of pyspark fails
             "from resources.catalog_mutator import group_keys\n"
             "print(group_keys(50))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "default/0" in done.stdout


def test_the_wheel_carries_the_catalog_it_was_built_with(tmp_path):
    """The artifact's build (setup.py) packages soundlake.yaml as soundlake/conf/catalog.yaml,
    beside the JSON Schema it is validated with, and the code finds it there."""
    import subprocess
    import sys
    import zipfile

    build = tmp_path / "build"
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    packaged = build / "soundlake" / "conf" / "catalog.yaml"
    assert packaged.read_text() == (ROOT.parent / "soundlake.yaml").read_text()
    assert (build / "soundlake" / "conf" / "catalog.schema.json").is_file()
    probe = "from soundlake.catalog import catalog_path; print(catalog_path()[0])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "SOUNDLAKE_CONFIG"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(build)})
    assert out.stdout.strip() == "soundlake/conf/catalog.yaml (packaged)", out.stderr[-2000:]
    assert not zipfile.is_zipfile(packaged)  # (the YAML itself, not an archive)
