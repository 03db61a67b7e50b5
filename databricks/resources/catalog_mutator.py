"""Deploy time: the silver job's table list comes from the table catalog, not from a copy.

databricks.yml names `silver_tables` under `python.mutators`; the Databricks CLI runs it
(`python -m databricks.bundles.build`, in the venv `python.venv_path`, from the bundle root)
after loading resources/*.yml, on every validate, deploy and summary. It reads the repository's
soundlake.yaml (the file the Functions extract by; `SOUNDLAKE_CONFIG`, relative to the
repository root, names another), validates it, checks that the views and gold find in it what
they read, and sets the for_each inputs of the silver job's `ingest` task to its groups of
tables: one key `<source>/<k>` per at most `silver_tables_per_task` tables of one source
(soundlake/silver/groups.py). A bad catalog stops the deploy with the problems named
(`tables[2].silver.columns[0].type: ...`).

The wheel the job runs carries the same file (setup.py copies it in when the CLI builds the
wheel), so each task resolves its key against the catalog it was deployed with, at the size
the job passes it (`--tables-per-task=${var.silver_tables_per_task}`).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from databricks.bundles.core import Bundle, job_mutator, pipeline_mutator
from databricks.bundles.jobs import Job
from databricks.bundles.pipelines import Pipeline

SILVER_ENTRY_POINT = "silver"
PER_TASK_VARIABLE = "silver_tables_per_task"
# a for_each's inputs are at most 10,000 characters (Databricks, "Use a lookup table for large
# parameter arrays in a For each task")
INPUTS_LIMIT = 10_000
REPOSITORY = Path(__file__).resolve().parents[2]  # databricks/resources/ -> the repository root


def _is_silver_ingest(task) -> bool:
    inner = task.for_each_task.task if task.for_each_task else None
    wheel = inner.python_wheel_task if inner else None
    return bool(wheel and wheel.entry_point == SILVER_ENTRY_POINT)


def checked_catalog():
    """The catalog, once it is valid and gives the views and gold what they read."""
    from soundlake.catalog import load_catalog, repository_catalog
    from soundlake.gold.needs import problems as gold_problems
    from soundlake.silver.views import ViewSpecError, check_views

    catalog = load_catalog(repository_catalog(REPOSITORY))
    found = [f"gold: {p}" for p in gold_problems(catalog)]
    try:
        check_views(catalog)
    except ViewSpecError as e:
        found.append(f"conf/views.yml: {e}")
    if found:
        raise ValueError(f"the catalog {catalog.file} lacks what downstream reads:\n"
                         + "\n".join(f"  - {p}" for p in found))
    return catalog


def group_keys(per_task: int) -> list[str]:
    """The for_each inputs: one key per group of the checked catalog's tables."""
    from soundlake.silver.groups import silver_groups

    return list(silver_groups(checked_catalog().tables, per_task))


@job_mutator
def silver_tables(bundle: Bundle, job: Job) -> Job:
    """One for_each iteration per group of catalog tables in the job whose loop runs the `silver` entry point."""
    if not any(_is_silver_ingest(t) for t in job.tasks):
        return job
    per_task = int(bundle.variables[PER_TASK_VARIABLE])
    inputs = json.dumps(group_keys(per_task))
    if len(inputs) > INPUTS_LIMIT:
        raise ValueError(f"the silver job's for_each inputs are {len(inputs)} characters, over the "
                         f"{INPUTS_LIMIT:,} a for_each takes: raise the variable {PER_TASK_VARIABLE} "
                         f"(now {per_task})")
    tasks = [replace(t, for_each_task=replace(t.for_each_task, inputs=inputs)) if _is_silver_ingest(t) else t
             for t in job.tasks]
    return replace(job, tasks=tasks)


@pipeline_mutator
def spotify_pull(bundle: Bundle, pipeline: Pipeline) -> Pipeline:
    """The gold pipeline's `soundlake.spotify_pull`: the silver table of the catalog's Spotify
    daily pull, or "" (its Spotify facts, src/gold_pipeline/*spotify*.py, are then not defined)."""
    from soundlake.gold.needs import SPOTIFY_PULL_CONF, spotify_pull as pull_of

    conf = dict(pipeline.configuration or {})
    if "soundlake.silver_schema" not in conf:  # not the gold pipeline
        return pipeline
    conf[SPOTIFY_PULL_CONF] = pull_of(checked_catalog()) or ""
    return replace(pipeline, configuration=conf)
