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


def local_spark(
    app: str = "soundlake",
    extra: dict[str, str] | None = None,
    jvm_log: str | None = None,
) -> SparkSession:
    """Local Spark with Delta (jars fetched once from Maven Central by delta-spark's pip helper).

    With `jvm_log`, the JVM's own output (Ivy's dependency report, Spark's log) goes to that
    file instead of the terminal; Python-side errors still surface as exceptions.
    """
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
    if jvm_log is None:
        spark = configure_spark_with_delta_pip(b).getOrCreate()
    else:
        os.makedirs(os.path.dirname(os.path.abspath(jvm_log)), exist_ok=True)
        saved = os.dup(2)
        try:
            with open(jvm_log, "ab") as log:
                os.dup2(log.fileno(), 2)  # the JVM child inherits this stderr
                spark = configure_spark_with_delta_pip(b).getOrCreate()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    spark.sparkContext.setLogLevel(os.environ.get("SOUNDLAKE_SPARK_LOG_LEVEL", "ERROR"))
    return spark
