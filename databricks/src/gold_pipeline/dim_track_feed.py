# dim_track_feed: the CDC source of dim_track (silver change feed, null keys dropped).
import dlt
from soundlake.gold.dims import DIM_TRACK as SPEC, feed
from soundlake.gold.pipeline import silver_table


@dlt.view(name=SPEC.feed_name)
@dlt.expect_all_or_drop(SPEC.expectations.drop)
@dlt.expect_all(SPEC.expectations.warn)
def dim_track_feed():
    return feed(SPEC, spark.readStream.table(silver_table(spark, SPEC.silver_changes)))  # noqa: F821
