"""Render the bundle for one target the way the Databricks CLI does, for tests.

No CLI can run here, so this applies the rules the CLI documents and implements (read in
databricks/cli: bundle/config/mutator/resourcemutator/apply_target_mode.go, apply_presets.go,
libs/textutil NormalizeString, libs/iamutil GetShortUserName), only as far as this bundle
uses them:
  * variables: a target's value, else the default, else a `--var` value; none is an error;
  * `${var.*}`, `${bundle.*}` and `${workspace.*}` are substituted (repeatedly: defaults may
    refer to other variables);
  * `mode: development` sets the name prefix "[dev <short user name>] ": job and pipeline
    names get it as is, Unity Catalog schemas get it normalized ("dev_<short name>_"), and
    volumes, external locations and catalogs are not renamed; pipelines run in development;
  * `${resources.<type>.<key>.<field>}` resolves to the rendered resource's field (an `id`
    to a placeholder, known only after deploy);
  * the `python.mutators` run as the CLI runs them (bundle/config/mutator/python/
    python_mutator.go): `python -m databricks.bundles.build --phase apply_mutators` from the
    bundle root, on a JSON of the configuration, whose output resources replace the input's and
    whose error diagnostics fail the render (here: PythonMutatorError).
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_REF = re.compile(r"\$\{([A-Za-z0-9_.\-\[\]]+)\}")


def normalize(name: str) -> str:
    """Lower case; every character that is not a letter or digit becomes _, runs of _ collapse."""
    out = "".join(c if unicodedata.category(c)[0] in "LN" else "_" for c in name.lower())
    return re.sub(r"_+", "_", out).strip("_")


def short_name(user: str) -> str:
    return normalize(user.split("@", 1)[0])


def schema_prefix(prefix: str) -> str:
    """'[dev jane_doe] ' -> 'dev_jane_doe_' (a prefix ending in ']' keeps a separating _)."""
    p = prefix.replace("[", "").strip(" ")
    return normalize(p) + ("_" if p.endswith("]") else "")


def load_bundle() -> dict:
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text())
    resources: dict = {}
    for pattern in bundle["include"]:
        for f in sorted(ROOT.glob(pattern)):
            for kind, items in yaml.safe_load(f.read_text())["resources"].items():
                resources.setdefault(kind, {}).update(items)
    bundle["resources"] = resources
    return bundle


def _sub(value, lookup):
    if isinstance(value, dict):
        return {k: _sub(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub(v, lookup) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REF.fullmatch(value)
    if whole and not isinstance(lookup(whole[1]), (str, type(None))):
        return lookup(whole[1])  # a complex variable used as a whole value
    return _REF.sub(lambda m: m[0] if lookup(m[1]) is None else str(lookup(m[1])), value)


class PythonMutatorError(RuntimeError):
    def __init__(self, diagnostics: list[dict]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(f"{d.get('summary')}: {d.get('detail', '')}" for d in diagnostics))


def apply_python_mutators(bundle: dict, target: str, values: dict, resources: dict,
                          env: dict[str, str] | None = None) -> dict:
    """The bundle's Python mutators over `resources`, run by databricks-bundles' own entry point."""
    if not bundle.get("python", {}).get("mutators"):
        return resources
    doc = {"bundle": {"name": bundle["bundle"]["name"], "target": target},
           "variables": {k: {"value": v} for k, v in values.items()},
           "python": bundle["python"], "resources": resources}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, f"{k}.json") for k in ("input", "output", "diagnostics")}
        Path(paths["input"]).write_text(json.dumps(doc))
        run_env = {**os.environ, **(env or {}),
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(
            [sys.executable, "-m", "databricks.bundles.build", "--phase", "apply_mutators",
             *[a for k, p in paths.items() for a in (f"--{k}", p)]],
            cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=300)
        diags = [json.loads(line) for line in Path(paths["diagnostics"]).read_text().splitlines()
                 if line.strip()] if Path(paths["diagnostics"]).exists() else []
        errors = [d for d in diags if d.get("severity") == "error"]
        if errors or done.returncode != 0:
            raise PythonMutatorError(errors or [{"summary": "python mutator failed", "detail": done.stderr[-3000:]}])
        return json.loads(Path(paths["output"]).read_text())["resources"]


def render(target: str, user: str, var: dict[str, object] | None = None,
           env: dict[str, str] | None = None, python: bool = True) -> dict:
    b = load_bundle()
    t = b["targets"][target]
    values: dict[str, object] = {}
    for name, decl in b["variables"].items():
        if name in t.get("variables", {}):
            values[name] = t["variables"][name]
        elif var and name in var:
            values[name] = var[name]
        elif "default" in decl:
            values[name] = decl["default"]
        else:
            raise ValueError(f"no value assigned to required variable {name}")
    short = short_name(user)
    root = (t.get("workspace", {}).get("root_path")
            or f"/Workspace/Users/{user}/.bundle/${{bundle.name}}/${{bundle.target}}")
    scalars = {"bundle.name": b["bundle"]["name"], "bundle.target": target,
               "workspace.current_user.short_name": short, "workspace.current_user.userName": user,
               "workspace.root_path": root, "workspace.file_path": f"{root}/files"}

    def lookup(ref: str):
        if ref.startswith("var."):
            return values[ref[4:]]
        return scalars.get(ref)  # None: left for a later pass (resources.*)

    for _ in range(5):  # defaults referring to variables referring to ...
        values = {k: _sub(v, lookup) for k, v in values.items()}
        scalars = {k: _sub(v, lookup) for k, v in scalars.items()}
    res = copy.deepcopy(b["resources"])

    if t.get("mode") == "development":
        prefix = f"[dev {short}] "
        for job in res.get("jobs", {}).values():
            job["name"] = prefix + job["name"]
            job.setdefault("tags", {}).setdefault("dev", short)
        for p in res.get("pipelines", {}).values():
            p["name"] = prefix + p["name"]
            p["development"] = True
        for s in res.get("schemas", {}).values():
            s["name"] = schema_prefix(prefix) + s["name"]

    # the CLI runs the Python mutators after the target mode, on resources whose variable
    # references are not resolved yet (bundle/phases/initialize.go)
    if python:
        res = apply_python_mutators(b, target, values, res, env)
    res = _sub(res, lookup)

    def resource_ref(ref: str):
        parts = ref.split(".")
        if parts[0] != "resources" or len(parts) != 4:
            return None
        _, kind, key, attr = parts
        if attr == "id":
            return f"<{kind}.{key}.id>"
        return res[kind][key][attr]

    for _ in range(3):
        res = _sub(res, resource_ref)
    return {"variables": values, "resources": res, "workspace": scalars}


def unresolved(value) -> list[str]:
    """Every `${...}` still in a rendered value (job parameter templates like {{input}} are fine)."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in unresolved(v)]
    if isinstance(value, list):
        return [u for v in value for u in unresolved(v)]
    return _REF.findall(value) if isinstance(value, str) else []
