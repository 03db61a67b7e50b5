import pytest

from soundlake.gold import expectations as ex


def test_drop_warn_counts_and_kept_rows(spark):
    df = spark.createDataFrame([(1, 10), (None, 20), (3, None), (4, 5000)], "id int, sec int")
    e = ex.Expectations(drop={"id_not_null": "id IS NOT NULL"},
                        warn={"plausible": "sec BETWEEN 1 AND 1000"})
    kept, r = ex.apply(df, e, "t")
    assert sorted(x.id for x in kept.collect()) == [1, 3, 4]
    assert (r.rows_in, r.rows_out, r.dropped, r.warned) == (4, 3, {"id_not_null": 1}, {"plausible": 2})
    assert "  dropped 1 row(s): id_not_null" in r.lines()


def test_null_condition_counts_as_violation_and_fail_raises(spark):
    df = spark.createDataFrame([(1,), (None,)], "x int")
    with pytest.raises(ex.ExpectationFailed, match=r"t: expectation\(s\) failed: positive \(1 row\(s\)\)"):
        ex.apply(df, ex.Expectations(fail={"positive": "x > 0"}), "t")
    kept, r = ex.apply(df, ex.Expectations(fail={"positive": "x > 0 OR x IS NULL"}), "t")
    assert r.failed == {"positive": 0} and kept.count() == 2


def test_keep_only_applies_drop_rules(spark):
    df = spark.createDataFrame([(1,), (None,)], "x int")
    assert ex.keep_only(df, ex.Expectations(drop={"x": "x IS NOT NULL"}, warn={"w": "false"})).count() == 1
