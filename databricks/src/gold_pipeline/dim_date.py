# dim_date: one row per day, covering the configured range and every stream.
import dlt
from soundlake.gold.dim_date import date_bounds, dim_date as build
from soundlake.gold.pipeline import silver_table


@dlt.table(name="dim_date", comment="Calendar dimension (generated)")
def dim_date():
    return build(spark, *date_bounds(spark.read.table(silver_table(spark, "streams"))))  # noqa: F821
