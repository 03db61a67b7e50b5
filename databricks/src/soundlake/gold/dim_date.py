"""DimDate: one row per calendar day, generated (no source table)."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from soundlake.config import settings

# The -infinity and +infinity sentinels of a bronze TIMESTAMP(MICROS) (docs/bronze-layout.md).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def dim_date(streams: DataFrame, start: dt.date | None = None, end: dt.date | None = None) -> DataFrame:
    """One row per day from `start` to `end` (default: the configured range), widened to
    cover every stream's (UTC) date. The Postgres infinity sentinels (docs/bronze-layout.md)
    are left out: widened by them, the calendar would run to the year 294247.

    Declarative: the range is an aggregate inside the plan, never collected, so this only
    builds a DataFrame (what a Lakeflow dataset function may do) and runs no Spark job.
    """
    s = settings()
    start = start or s.dim_date_start
    end = end or s.dim_date_end
    if start > end:
        raise ValueError(f"dim_date: start {start} is after end {end}")
    micros = F.unix_micros("streamed_at")
    day = F.when(~micros.isin(INT64_MIN, INT64_MAX), F.to_date("streamed_at"))
    bounds = streams.agg(
        F.least(F.min(day), F.lit(start)).alias("lo"),  # least/greatest skip the NULL of no streams
        F.greatest(F.max(day), F.lit(end)).alias("hi"),
    )
    days = bounds.select(F.explode(F.sequence("lo", "hi", F.expr("INTERVAL 1 DAY"))).alias("date"))
    d = F.col("date")
    return days.select(
        F.date_format(d, "yyyyMMdd").cast("int").alias("date_key"),
        d,
        F.year(d).alias("year"),
        F.quarter(d).alias("quarter"),
        F.month(d).alias("month"),
        F.date_format(d, "MMMM").alias("month_name"),
        F.dayofmonth(d).alias("day_of_month"),
        # ISO: Monday = 1 ... Sunday = 7
        (((F.dayofweek(d) + 5) % 7) + 1).alias("day_of_week"),
        F.date_format(d, "EEEE").alias("day_name"),
        F.weekofyear(d).alias("iso_week"),
        F.dayofweek(d).isin(1, 7).alias("is_weekend"),
    )
