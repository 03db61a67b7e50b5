# fact_stream_quality: fails the update when too many facts miss a dimension version.
from pyspark import pipelines as dp
from soundlake.gold.fact_stream import fact_stream_quality as build, quality_expectations


@dp.materialized_view(name="fact_stream_quality", comment="Share of facts without a dimension version")
@dp.expect_all_or_fail(quality_expectations().fail)
def fact_stream_quality():
    return build(spark.read.table("fact_stream"))  # noqa: F821
