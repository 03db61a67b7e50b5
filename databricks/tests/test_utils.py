import datetime as dt

from soundlake import utils

T1 = dt.datetime(2026, 1, 1)
T2 = dt.datetime(2026, 1, 2)


def test_latest_per_key_keeps_the_latest_updated_at(spark):
    df = spark.createDataFrame(
        [(1, "free", T1), (1, "premium", T2), (2, "free", T1), (1, "family", T1)],
        "user_id int, plan string, updated_at timestamp")
    out = sorted((r.user_id, r.plan) for r in utils.latest_per_key(df, ["user_id"], "updated_at").collect())
    assert out == [(1, "premium"), (2, "free")]


def test_latest_per_key_breaks_equal_updated_at_by_values_not_arrival(spark):
    rows = [(1, "free", T2), (1, "premium", T2), (1, None, T2)]
    for order in (rows, rows[::-1]):
        df = spark.createDataFrame(order, "user_id int, plan string, updated_at timestamp")
        assert utils.latest_per_key(df, ["user_id"], "updated_at").first().plan == "premium"


def test_latest_per_key_ignores_lineage_columns_for_ties(spark):
    df = spark.createDataFrame([(1, "a", T1, "f2"), (1, "a", T1, "f1")],
                               "k int, v string, updated_at timestamp, _source_file string")
    assert utils.latest_per_key(df, ["k"], "updated_at").count() == 1


def test_drop_rescued_data_and_rescued_rows(spark):
    df = spark.createDataFrame(
        [(1, None, "f1", T1), (2, '{"mood":"sad","_file_path":"f2"}', "f2", T1)],
        "user_id int, _rescued_data string, _source_file string, _ingested_at timestamp")
    assert utils.drop_rescued_data(df).columns == ["user_id", "_source_file", "_ingested_at"]
    r = utils.rescued_rows(df, "dim_users", ["user_id"]).collect()
    assert [(x.table_name, x.record_key, x.source_file, x.rescued_data) for x in r] == [
        ("dim_users", '{"user_id":2}', "f2", '{"mood":"sad","_file_path":"f2"}')]


def test_row_hash_is_equal_for_equal_values_only(spark):
    df = spark.createDataFrame([(1, "a"), (1, "a"), (1, "b"), (1, None)], "k int, v string")
    h = [r.h for r in df.select(utils.row_hash(["k", "v"]).alias("h")).collect()]
    assert h[0] == h[1] and len({h[1], h[2], h[3]}) == 3
