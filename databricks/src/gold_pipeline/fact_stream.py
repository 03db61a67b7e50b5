# fact_stream: streams joined to the dimension versions valid at stream time.
from pyspark import pipelines as dp
from soundlake.gold.fact_stream import FACT_EXPECTATIONS as EXP, fact_stream as build
from soundlake.gold.pipeline import silver_table


@dp.materialized_view(name="fact_stream",
                      comment="One row per stream, with the dimension versions valid when played")
@dp.expect_all_or_drop(EXP.drop)
@dp.expect_all(EXP.warn)
def fact_stream():
    t = spark.read.table  # noqa: F821
    return build(t(silver_table(spark, "streams")), t("dim_user"), t("dim_track"), t("dim_artist"), t("dim_album"))  # noqa: F821
