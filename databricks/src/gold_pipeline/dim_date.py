# dim_date: one row per day, covering the configured range and every stream (declarative:
# the range is part of the plan, nothing is collected while the pipeline is defined).
from pyspark import pipelines as dp
from soundlake.gold.dim_date import dim_date as build
from soundlake.gold.pipeline import silver_table


@dp.materialized_view(name="dim_date", comment="Calendar dimension (generated)")
def dim_date():
    return build(spark.read.table(silver_table(spark, "streams")))  # noqa: F821
