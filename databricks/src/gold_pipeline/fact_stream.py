# fact_stream: streams joined to the dimension versions valid at stream time.
import dlt
from soundlake.gold.fact_stream import FACT_EXPECTATIONS as EXP, fact_stream as build
from soundlake.gold.pipeline import silver_table


@dlt.table(name="fact_stream", comment="One row per stream, with the dimension versions valid when played")
@dlt.expect_all_or_drop(EXP.drop)
@dlt.expect_all(EXP.warn)
def fact_stream():
    t = spark.read.table  # noqa: F821
    return build(t(silver_table(spark, "streams")), t("dim_user"), t("dim_track"), t("dim_artist"), t("dim_album"))  # noqa: F821
