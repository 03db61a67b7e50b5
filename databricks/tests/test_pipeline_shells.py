"""The DLT files are thin shells: each registers its one dataset with the shared logic."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from soundlake.gold.dims import DIMENSIONS
from soundlake.gold.fact_stream import FACT_EXPECTATIONS, quality_expectations

PIPELINE = Path(__file__).resolve().parents[1] / "src" / "gold_pipeline"


class FakeDlt(types.ModuleType):
    """Records what a pipeline file declares (the real `dlt` exists only on Databricks)."""

    def __init__(self):
        super().__init__("dlt")
        self.datasets: list[dict] = []
        self.flows: list[dict] = []

    def _decorator(self, kind, **kw):
        def wrap(fn):
            entry = getattr(fn, "_dlt", None) or {"fn": fn, "expect": {}}
            if kind in ("table", "view"):
                entry.update(kind=kind, name=kw.get("name", fn.__name__))
                self.datasets.append(entry)
            else:
                entry["expect"][kind] = kw["exp"]
            fn._dlt = entry
            return fn
        return wrap

    def table(self, **kw):
        return self._decorator("table", **kw)

    def view(self, **kw):
        return self._decorator("view", **kw)

    def expect_all_or_drop(self, exp):
        return self._decorator("drop", exp=exp)

    def expect_all(self, exp):
        return self._decorator("warn", exp=exp)

    def expect_all_or_fail(self, exp):
        return self._decorator("fail", exp=exp)

    def create_streaming_table(self, name, **kw):
        self.datasets.append({"kind": "streaming_table", "name": name, "expect": {}})

    def create_auto_cdc_flow(self, **kw):
        self.flows.append(kw)


def load(name: str) -> FakeDlt:
    fake = FakeDlt()
    sys.modules["dlt"] = fake
    try:
        spec = importlib.util.spec_from_file_location(f"gold_pipeline_{name}", PIPELINE / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["dlt"]
    return fake


@pytest.mark.parametrize("dim", sorted(DIMENSIONS))
def test_dimension_is_an_auto_cdc_scd2_flow(dim):
    spec = DIMENSIONS[dim]
    target = load(dim)
    assert [(d["kind"], d["name"]) for d in target.datasets] == [("streaming_table", dim)]
    [flow] = target.flows
    assert flow == {"target": dim, "source": f"{dim}_feed", "keys": list(spec.keys),
                    "sequence_by": "updated_at", "column_list": list(spec.columns),
                    "stored_as_scd_type": 2, "track_history_except_column_list": ["updated_at"]}
    feed = load(f"{dim}_feed")
    [d] = feed.datasets
    assert (d["kind"], d["name"]) == ("view", f"{dim}_feed")
    assert d["expect"]["drop"] == spec.expectations.drop and f"{spec.keys[0]}_not_null" in d["expect"]["drop"]
    assert d["expect"]["warn"] == spec.expectations.warn


def test_fact_and_quality_expectations_are_wired():
    [fact] = load("fact_stream").datasets
    assert fact["name"] == "fact_stream"
    assert fact["expect"] == {"drop": FACT_EXPECTATIONS.drop, "warn": FACT_EXPECTATIONS.warn}
    [q] = load("fact_stream_quality").datasets
    assert q["expect"] == {"fail": quality_expectations().fail}
    [date] = load("dim_date").datasets
    assert (date["kind"], date["name"]) == ("table", "dim_date")


def test_feed_view_reads_the_silver_change_feed(spark):
    """Call a shell's function with a stand-in `spark` that serves the silver table by name."""
    import datetime as dt

    feed = load("dim_user_feed")
    [d] = feed.datasets
    changes = spark.createDataFrame(
        [(1, "A", "SE", "free", dt.date(2025, 1, 1), dt.datetime(2026, 1, 1), "f", None, "h")],
        "user_id int, user_name string, country string, subscription_type string, signup_date date, "
        "updated_at timestamp, _source_file string, _ingested_at timestamp, _row_hash string")
    asked = []

    class Reader:
        def table(self, name):
            asked.append(name)
            return changes

    class Conf:
        def get(self, key):
            return {"soundlake.catalog": "cat"}[key]

    class FakeSpark:
        readStream = Reader()
        conf = Conf()

    d["fn"].__globals__["spark"] = FakeSpark()
    out = d["fn"]()
    assert asked == ["cat.silver.users_changes"]
    assert out.columns == list(DIMENSIONS["dim_user"].columns)
