# dim_track_feed: the CDC source of dim_track (silver change feed, null keys dropped).
from pyspark import pipelines as dp
from soundlake.gold.dims import DIM_TRACK as SPEC
from soundlake.gold.pipeline import silver_table
from soundlake.gold.scd2 import feed


@dp.temporary_view(name=SPEC.feed_name)
@dp.expect_all_or_drop(SPEC.expectations.drop)
@dp.expect_all(SPEC.expectations.warn)
def dim_track_feed():
    return feed(SPEC, spark.readStream.table(silver_table(spark, SPEC.silver_changes)))  # noqa: F821
