"""What the DLT shells in src/gold_pipeline/ share: where silver is, read from the pipeline conf."""
from __future__ import annotations

from pyspark.sql import SparkSession

CATALOG_CONF = "soundlake.catalog"


def silver_table(spark: SparkSession, name: str) -> str:
    """`<catalog>.silver.<name>`, the catalog coming from the pipeline configuration."""
    return f"{spark.conf.get(CATALOG_CONF)}.silver.{name}"
