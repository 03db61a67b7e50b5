"""What the pipeline files in src/gold_pipeline/ share: where silver is, from the pipeline conf."""
from __future__ import annotations

from pyspark.sql import SparkSession

from soundlake.gold.needs import SPOTIFY_PULL_CONF

CATALOG_CONF = "soundlake.catalog"
# the bundle passes ${resources.schemas.silver.name}: `dev_<user>_silver` in a development deployment
SILVER_SCHEMA_CONF = "soundlake.silver_schema"


def silver_table(spark: SparkSession, name: str) -> str:
    """`<catalog>.<silver schema>.<name>`, both from the pipeline configuration."""
    return f"{spark.conf.get(CATALOG_CONF)}.{spark.conf.get(SILVER_SCHEMA_CONF)}.{name}"


def spotify_pull(spark: SparkSession) -> str:
    """The silver table of the Spotify daily pull, "" when the catalog has none."""
    return spark.conf.get(SPOTIFY_PULL_CONF, "")
