"""DimDate and FactStream's point-in-time join to SCD2 dimension versions."""
from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from soundlake.gold import expectations as ex
from soundlake.gold.dim_date import dim_date
from soundlake.gold.fact_stream import (
    FACT_EXPECTATIONS,
    fact_stream,
    fact_stream_quality,
    quality_expectations,
)


def d(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour)


DIM_COLS = "{k} int, {extra}__START_AT timestamp, __END_AT timestamp"


@pytest.fixture()
def dims(spark):
    user = spark.createDataFrame(
        [(1, "free", d(5), d(10)), (1, "premium", d(10), None), (2, "family", d(1), None)],
        "user_id int, subscription_type string, __START_AT timestamp, __END_AT timestamp")
    track = spark.createDataFrame(
        [(10, 100, 1000, d(1), d(8)), (10, 101, 1000, d(8), None)],  # moved to another artist on day 8
        "track_id int, artist_id int, album_id int, __START_AT timestamp, __END_AT timestamp")
    artist = spark.createDataFrame(
        [(100, "rock", d(1), None), (101, "pop", d(2), d(9)), (101, "jazz", d(9), None)],
        "artist_id int, genre string, __START_AT timestamp, __END_AT timestamp")
    album = spark.createDataFrame([(1000, d(1), None)], "album_id int, __START_AT timestamp, __END_AT timestamp")
    return user, track, artist, album


def streams(spark, rows):
    return spark.createDataFrame(
        [(sid, uid, tid, at, 1000, "web", at) for sid, uid, tid, at in rows],
        "stream_id bigint, user_id int, track_id int, streamed_at timestamp, ms_played int, "
        "device_type string, updated_at timestamp")


def test_each_stream_gets_the_versions_valid_when_it_was_played(spark, dims):
    s = streams(spark, [
        (1, 1, 10, d(2)),       # before user 1's first version: the first version applies
        (2, 1, 10, d(8, 12)),   # free; track already on artist 101 (pop until day 9)
        (3, 1, 10, d(10)),      # exactly at a version boundary: the new version (premium)
        (4, 2, 10, d(20)),      # current versions everywhere
        (5, 3, 10, d(20)),      # unknown user: no version
    ])
    rows = fact_stream(s, *dims).orderBy("stream_id").collect()
    got = [(r.stream_id, r.date_key, r.user_valid_from, r.artist_id, r.artist_valid_from, r.album_valid_from)
           for r in rows]
    assert got == [
        (1, 20260302, d(5), 100, d(1), d(1)),
        (2, 20260308, d(5), 101, d(2), d(1)),
        (3, 20260310, d(10), 101, d(9), d(1)),
        (4, 20260320, d(1), 101, d(9), d(1)),
        (5, 20260320, None, 101, d(9), d(1)),
    ]


def test_fact_expectations_and_broken_reference_threshold(spark, dims):
    s = streams(spark, [(1, 1, 10, d(2)), (2, None, 10, d(2)), (3, 3, 10, d(3)), (None, 1, 10, d(3))])
    kept, report = ex.apply(fact_stream(s, *dims), FACT_EXPECTATIONS, "fact_stream")
    assert report.dropped == {"stream_id_not_null": 1, "streamed_at_not_null": 0,
                              "user_id_not_null": 1, "track_id_not_null": 0}
    assert report.warned["user_version_found"] == 2 and report.rows_out == 2
    q = fact_stream_quality(kept).first()
    assert (q.facts, q.broken_references, q.broken_ratio) == (2, 1, 0.5)
    with pytest.raises(ex.ExpectationFailed, match="broken_references_below_threshold"):
        ex.apply(fact_stream_quality(kept), quality_expectations(), "fact_stream_quality")
    ok = fact_stream_quality(kept.where("stream_id = 1"))
    assert ex.apply(ok, quality_expectations(), "q")[1].failed == {"broken_references_below_threshold": 0}


def test_dim_date_rows_are_exact(spark):
    none = streams(spark, [(1, 1, 1, d(1))]).where("stream_id = 0")
    rows = dim_date(none, dt.date(2026, 12, 31), dt.date(2027, 1, 3)).orderBy("date").collect()
    assert [tuple(r) for r in rows] == [
        (20261231, dt.date(2026, 12, 31), 2026, 4, 12, "December", 31, 4, "Thursday", 53, False),
        (20270101, dt.date(2027, 1, 1), 2027, 1, 1, "January", 1, 5, "Friday", 53, False),
        (20270102, dt.date(2027, 1, 2), 2027, 1, 1, "January", 2, 6, "Saturday", 53, True),
        (20270103, dt.date(2027, 1, 3), 2027, 1, 1, "January", 3, 7, "Sunday", 53, True),
    ]
    with pytest.raises(ValueError, match="after end"):
        dim_date(none, dt.date(2027, 1, 2), dt.date(2027, 1, 1))


def _range(df) -> tuple[dt.date, dt.date, int]:
    r = df.selectExpr("min(date) lo", "max(date) hi", "count(*) n").first()
    return r.lo, r.hi, r.n


def test_dim_date_range_covers_every_stream(spark):
    s = streams(spark, [(1, 1, 1, dt.datetime(2019, 6, 1)), (2, 1, 1, dt.datetime(2031, 2, 1))])
    assert _range(dim_date(s)) == (dt.date(2019, 6, 1), dt.date(2031, 2, 1), 4264)
    assert _range(dim_date(s.where("stream_id = 0"))) == (dt.date(2020, 1, 1), dt.date(2030, 12, 31), 4018)


def test_dim_date_range_leaves_the_infinity_sentinels_out(spark):
    s = streams(spark, [(1, 1, 1, dt.datetime(2019, 6, 1))])
    sentinels = [s.withColumn("stream_id", F.lit(n).cast("bigint")).withColumn("streamed_at", F.expr(f"timestamp_micros({m})"))
                 for n, m in ((2, 2**63 - 1), (3, -(2**63)))]
    assert _range(dim_date(s.unionByName(sentinels[0]).unionByName(sentinels[1]))) == (dt.date(2019, 6, 1), dt.date(2030, 12, 31), 4232)


@pytest.mark.local_only
def test_dim_date_only_builds_a_plan(spark):
    """A Lakeflow dataset function must not run actions while the pipeline graph is defined:
    building dim_date starts no Spark job (the range is part of the plan, not collected)."""
    sc = spark.sparkContext
    s = streams(spark, [(1, 1, 1, dt.datetime(2019, 6, 1))])
    sc.setJobGroup("soundlake-dim-date-plan", "building dim_date")
    try:
        df = dim_date(s)
    finally:
        sc.setJobGroup("soundlake-after", "after")
    assert list(sc.statusTracker().getJobIdsForGroup("soundlake-dim-date-plan")) == []
    assert df.columns[:2] == ["date_key", "date"]
