"""The gold pipeline files, loaded through the real `pyspark.pipelines` API.

Each file under src/gold_pipeline/ is executed with pyspark's own `pipelines` module and a
recording graph-element registry, so every call is bound to the real signature (a wrong
argument name raises) and validated by pyspark's own code. Databricks' Lakeflow `dp`
module is that API plus what Databricks documents on top of it; those additions are
declared below, each with its documented signature, and nothing else is accepted:
  * expectation decorators (`expect`, `expect_or_drop`, `expect_or_fail`, `expect_all`,
    `expect_all_or_drop`, `expect_all_or_fail`): Lakeflow Python reference, "Expectations";
  * `create_auto_cdc_flow` arguments open-source Spark 4.2 lacks (`stored_as_scd_type=2`,
    `track_history_column_list`, `track_history_except_column_list`, `ignore_null_updates`,
    `apply_as_truncates`, `once`): Lakeflow Python reference, "create_auto_cdc_flow".
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest
from pyspark import pipelines as oss
from pyspark.pipelines.graph_element_registry import (
    GraphElementRegistry,
    graph_element_registration_context,
)
from pyspark.pipelines.output import MaterializedView, StreamingTable, TemporaryView

from soundlake.gold.dims import DIMENSIONS
from soundlake.gold.fact_stream import FACT_EXPECTATIONS, quality_expectations

PIPELINE = Path(__file__).resolve().parents[1] / "src" / "gold_pipeline"
FILES = sorted(p.stem for p in PIPELINE.glob("*.py"))


class Recorder(GraphElementRegistry):
    """Keeps what pyspark's API registers (instead of sending it to a pipeline server)."""

    def __init__(self) -> None:
        self.outputs: list = []
        self.flows: list = []
        self.cdc_flows: list = []
        self.cdc_calls: list[dict] = []

    def register_output(self, output) -> None:
        self.outputs.append(output)

    def register_flow(self, flow) -> None:
        self.flows.append(flow)

    def register_auto_cdc_flow(self, flow) -> None:
        self.cdc_flows.append(flow)

    def register_sql(self, sql_text, file_path) -> None:
        raise AssertionError("the gold pipeline declares no SQL")


# --- what Databricks' `dp` adds to the open-source module (documented signatures) ---------
EXPECTATIONS = "__soundlake_expectations__"


def _expectation(kind: str):
    def one(description: str, constraint: str):
        return _attach(kind, {description: constraint})

    def many(expectations: dict[str, str]):
        return _attach(kind, expectations)

    return one, many


def _attach(kind: str, expectations: dict[str, str]):
    if not isinstance(expectations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in expectations.items()):
        raise TypeError(f"expectations must be a dict of description -> SQL constraint, got {expectations!r}")

    def decorate(fn):
        found = getattr(fn, EXPECTATIONS, {})
        if kind in found and set(found[kind]) & set(expectations):
            raise ValueError(f"duplicate expectation names for {fn.__name__}")
        setattr(fn, EXPECTATIONS, {**found, kind: {**found.get(kind, {}), **expectations}})
        return fn

    return decorate


_REAL_CDC = oss.create_auto_cdc_flow
_OSS_CDC = inspect.signature(_REAL_CDC)
DATABRICKS_CDC_ONLY = ("ignore_null_updates", "apply_as_truncates", "track_history_column_list",
                       "track_history_except_column_list", "once")
_DATABRICKS_CDC = _OSS_CDC.replace(parameters=[
    *_OSS_CDC.parameters.values(),
    *[inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None) for n in DATABRICKS_CDC_ONLY],
])


def _databricks_auto_cdc(recorder: Recorder):
    def create_auto_cdc_flow(*args, **kwargs):
        bound = _DATABRICKS_CDC.bind(*args, **kwargs)  # TypeError on an unknown argument name
        a = bound.arguments
        if a.get("stored_as_scd_type") not in (None, 1, 2, "1", "2"):
            raise TypeError(f"stored_as_scd_type must be 1 or 2, got {a['stored_as_scd_type']!r}")
        for name in ("track_history_column_list", "track_history_except_column_list"):
            v = a.get(name)
            if v is not None and not (isinstance(v, list) and all(isinstance(c, str) for c in v)):
                raise TypeError(f"{name} must be a list of column names, got {v!r}")
        if a.get("track_history_column_list") and a.get("track_history_except_column_list"):
            raise ValueError("only one of track_history_column_list and _except_column_list")
        recorder.cdc_calls.append(dict(a))
        # everything open-source Spark knows goes through its own validation and registry
        # (it accepts only SCD type 1; the type is checked above)
        _REAL_CDC(**{k: v for k, v in a.items()
                                    if k in _OSS_CDC.parameters and k != "stored_as_scd_type"})

    create_auto_cdc_flow.__signature__ = _DATABRICKS_CDC
    return create_auto_cdc_flow


def databricks_api(monkeypatch, recorder: Recorder) -> None:
    """Make `from pyspark import pipelines as dp` the Databricks API for one test."""
    for kind, (one, many) in {"warn": _expectation("warn"), "drop": _expectation("drop"),
                              "fail": _expectation("fail")}.items():
        suffix = {"warn": "", "drop": "_or_drop", "fail": "_or_fail"}[kind]
        monkeypatch.setattr(oss, f"expect{suffix}", one, raising=False)
        monkeypatch.setattr(oss, f"expect_all{suffix}", many, raising=False)
    monkeypatch.setattr(oss, "create_auto_cdc_flow", _databricks_auto_cdc(recorder))


def load(monkeypatch, name: str) -> Recorder:
    rec = Recorder()
    databricks_api(monkeypatch, rec)
    spec = importlib.util.spec_from_file_location(f"gold_pipeline_{name}", PIPELINE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    with graph_element_registration_context(rec):
        spec.loader.exec_module(mod)
    return rec


def expectations_of(flow) -> dict:
    return getattr(flow.func, EXPECTATIONS, {})


# --- the files ---------------------------------------------------------------------------
def test_every_file_uses_the_lakeflow_api_and_only_documented_names():
    documented = set(oss.__all__) | {"expect", "expect_or_drop", "expect_or_fail", "expect_all",
                                     "expect_all_or_drop", "expect_all_or_fail"}
    for name in FILES:
        tree = ast.parse((PIPELINE / f"{name}.py").read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not any(isinstance(n, ast.Import) and any(a.name == "dlt" for a in n.names)
                       for n in imports), f"{name}: imports the older dlt module"
        assert any(isinstance(n, ast.ImportFrom) and n.module == "pyspark"
                   and [(a.name, a.asname) for a in n.names] == [("pipelines", "dp")]
                   for n in imports), f"{name}: no `from pyspark import pipelines as dp`"
        used = {n.attr for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "dp"}
        assert used and used <= documented, f"{name}: {used - documented}"


@pytest.mark.parametrize("dim", sorted(DIMENSIONS))
def test_dimension_is_an_auto_cdc_scd2_flow(monkeypatch, dim):
    spec = DIMENSIONS[dim]
    rec = load(monkeypatch, dim)
    [target] = rec.outputs
    assert isinstance(target, StreamingTable) and target.name == dim
    [flow] = rec.cdc_flows  # registered by pyspark's own create_auto_cdc_flow
    assert (flow.target, flow.source, flow.name) == (dim, f"{dim}_feed", dim)
    [call] = rec.cdc_calls
    assert call == {"target": dim, "source": f"{dim}_feed", "keys": list(spec.keys),
                    "sequence_by": "updated_at", "column_list": list(spec.columns),
                    "stored_as_scd_type": 2, "track_history_except_column_list": ["updated_at"]}


@pytest.mark.parametrize("dim", sorted(DIMENSIONS))
def test_feed_is_a_temporary_view_with_the_dimension_expectations(monkeypatch, dim):
    spec = DIMENSIONS[dim]
    rec = load(monkeypatch, f"{dim}_feed")
    [view] = rec.outputs
    assert isinstance(view, TemporaryView) and view.name == f"{dim}_feed"
    [flow] = rec.flows
    assert flow.target == f"{dim}_feed"
    exp = expectations_of(flow)
    assert exp["drop"] == spec.expectations.drop and f"{spec.keys[0]}_not_null" in exp["drop"]
    assert exp.get("warn", {}) == spec.expectations.warn


def test_fact_dim_date_and_quality_are_materialized_views_with_their_expectations(monkeypatch):
    [fact], [fact_flow] = (rec := load(monkeypatch, "fact_stream")).outputs, rec.flows
    assert isinstance(fact, MaterializedView) and fact.name == "fact_stream"
    assert expectations_of(fact_flow) == {"drop": FACT_EXPECTATIONS.drop, "warn": FACT_EXPECTATIONS.warn}
    [q], [q_flow] = (rec := load(monkeypatch, "fact_stream_quality")).outputs, rec.flows
    assert isinstance(q, MaterializedView) and expectations_of(q_flow) == {"fail": quality_expectations().fail}
    [date] = load(monkeypatch, "dim_date").outputs
    assert isinstance(date, MaterializedView) and date.name == "dim_date"


def test_a_wrong_argument_name_fails(monkeypatch):
    """What the shells are checked with is not a fake that accepts anything."""
    rec = Recorder()
    databricks_api(monkeypatch, rec)
    with graph_element_registration_context(rec):
        with pytest.raises(TypeError, match="column_lst"):
            oss.create_auto_cdc_flow(target="t", source="s", keys=["k"], sequence_by="u", column_lst=["k"])
        with pytest.raises(TypeError, match="track_history_excpt_column_list"):
            oss.create_auto_cdc_flow(target="t", source="s", keys=["k"], sequence_by="u",
                                     track_history_excpt_column_list=["u"])
        with pytest.raises(TypeError, match="stored_as_scd_type"):
            oss.create_auto_cdc_flow(target="t", source="s", keys=["k"], sequence_by="u", stored_as_scd_type=3)
        with pytest.raises(TypeError, match="nme"):
            oss.materialized_view(nme="x")
        with pytest.raises(TypeError, match="comnt"):
            oss.create_streaming_table("x", comnt="c")
        with pytest.raises(Exception, match="keys"):  # pyspark's own type check
            oss.create_auto_cdc_flow(target="t", source="s", keys="k", sequence_by="u")
    assert not hasattr(oss, "expect_all") or oss.expect_all.__module__ == __name__


# --- the dataset functions -----------------------------------------------------------------
class _Conf:
    def get(self, key):
        return {"soundlake.catalog": "cat", "soundlake.silver_schema": "dev_alice_silver"}[key]


def test_feed_view_reads_the_silver_change_feed_of_the_configured_schema(monkeypatch, spark):
    """Call a shell's function with a stand-in `spark` that serves the silver table by name."""
    import datetime as dt

    [flow] = load(monkeypatch, "dim_user_feed").flows
    changes = spark.createDataFrame(
        [(1, "A", "SE", "free", dt.date(2025, 1, 1), dt.datetime(2026, 1, 1), "f", None, "h")],
        "user_id int, user_name string, country string, subscription_type string, signup_date date, "
        "updated_at timestamp, _source_file string, _ingested_at timestamp, _row_hash string")
    asked = []

    class Reader:
        def table(self, name):
            asked.append(name)
            return changes

    class StandIn:
        readStream = Reader()
        conf = _Conf()

    flow.func.__globals__["spark"] = StandIn()
    out = flow.func()
    assert asked == ["cat.dev_alice_silver.users_changes"]
    assert out.columns == list(DIMENSIONS["dim_user"].columns)


@pytest.mark.local_only
def test_dim_date_dataset_function_runs_no_spark_job(monkeypatch, spark):
    import datetime as dt

    [flow] = load(monkeypatch, "dim_date").flows
    streams = spark.createDataFrame([(dt.datetime(2019, 6, 1),)], "streamed_at timestamp")

    class StandIn:
        class read:  # noqa: N801 - mirrors spark.read
            @staticmethod
            def table(name):
                assert name == "cat.dev_alice_silver.streams"
                return streams
        conf = _Conf()

    flow.func.__globals__["spark"] = StandIn()
    sc = spark.sparkContext
    sc.setJobGroup("soundlake-dim-date-shell", "defining dim_date")
    try:
        df = flow.func()
    finally:
        sc.setJobGroup("soundlake-after", "after")
    assert list(sc.statusTracker().getJobIdsForGroup("soundlake-dim-date-shell")) == []
    assert df.selectExpr("min(date)").first()[0] == dt.date(2019, 6, 1)
