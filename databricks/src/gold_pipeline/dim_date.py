# dim_date: one row per day, covering the configured range and every stream (declarative:
# the range is part of the plan, nothing is collected while the pipeline is defined).
import dlt
from soundlake.gold.dim_date import dim_date as build
from soundlake.gold.pipeline import silver_table


@dlt.table(name="dim_date", comment="Calendar dimension (generated)")
def dim_date():
    return build(spark.read.table(silver_table(spark, "streams")))  # noqa: F821
