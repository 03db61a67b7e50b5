# fact_stream_quality: fails the update when too many facts miss a dimension version.
import dlt
from soundlake.gold.fact_stream import fact_stream_quality as build, quality_expectations


@dlt.table(name="fact_stream_quality", comment="Share of facts without a dimension version")
@dlt.expect_all_or_fail(quality_expectations().fail)
def fact_stream_quality():
    return build(spark.read.table("fact_stream"))  # noqa: F821
