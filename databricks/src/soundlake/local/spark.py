"""One local SparkSession with Delta Lake, modest on memory (2 cores, driver 2g)."""
from __future__ import annotations

import os
import sys
import tempfile

from pyspark.sql import SparkSession

LOCAL_CONF = {
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # small local tables: keep Delta's log replay and stats cheap
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.streaming.stateStore.providerClass":
        "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "4",
    "spark.databricks.delta.retentionDurationCheck.enabled": "false",
}


def local_spark(app: str = "soundlake", extra: dict[str, str] | None = None) -> SparkSession:
    """Local Spark with Delta (jars fetched once from Maven Central by delta-spark's pip helper)."""
    from delta import configure_spark_with_delta_pip

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder.master(os.environ.get("SOUNDLAKE_SPARK_MASTER", "local[2]")).appName(app)
    # no spark-warehouse/ or metastore_db/ in the working directory: the lake is path-based
    warehouse = os.path.join(tempfile.gettempdir(), "soundlake-spark-warehouse")
    conf = {"spark.sql.warehouse.dir": warehouse,
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse}",
            **LOCAL_CONF, **(extra or {})}
    for k, v in conf.items():
        b = b.config(k, v)
    spark = configure_spark_with_delta_pip(b).getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SOUNDLAKE_SPARK_LOG_LEVEL", "ERROR"))
    return spark
