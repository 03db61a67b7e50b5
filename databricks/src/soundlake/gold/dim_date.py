"""DimDate: one row per calendar day, generated (no source table)."""
from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from soundlake.config import settings


def date_bounds(streams: DataFrame) -> tuple[dt.date, dt.date]:
    """The configured range, widened to cover every stream's (UTC) date."""
    s = settings()
    row = streams.agg(F.min(F.to_date("streamed_at")).alias("lo"),
                      F.max(F.to_date("streamed_at")).alias("hi")).first()
    lo = min(s.dim_date_start, row["lo"]) if row["lo"] else s.dim_date_start
    hi = max(s.dim_date_end, row["hi"]) if row["hi"] else s.dim_date_end
    return lo, hi


def dim_date(spark: SparkSession, start: dt.date, end: dt.date) -> DataFrame:
    if start > end:
        raise ValueError(f"dim_date: start {start} is after end {end}")
    days = spark.sql(
        f"SELECT explode(sequence(DATE'{start.isoformat()}', DATE'{end.isoformat()}', "
        "INTERVAL 1 DAY)) AS date"
    )
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
