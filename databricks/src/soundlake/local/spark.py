"""One local SparkSession with Delta Lake, modest on memory (2 cores, driver 2g)."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

T = TypeVar("T")

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


def start_retrying(start: Callable[[], T], attempts: int = 3, pauses: Sequence[float] = (3.0, 10.0)) -> T:
    """`start()`, again after a pause when the JVM exits before the session exists.

    The first session on a machine fetches the Delta jars from Maven Central (Ivy, inside
    spark-submit); a registry that fails a download or two makes the JVM exit, and nothing else
    reports it but JAVA_GATEWAY_EXITED. Ivy keeps what it fetched, so a second start asks only
    for the rest. Seen on a fresh machine: two runs failed together on "not found" for jars the
    registry served a minute later. Any other error is raised at once; the last one is raised
    after `attempts`.
    """
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except PySparkRuntimeError as err:
            if err.getCondition() != "JAVA_GATEWAY_EXITED" or attempt == attempts:
                raise
            pause = pauses[min(attempt - 1, len(pauses) - 1)]
            print(f"local Spark: the JVM exited before starting (attempt {attempt} of {attempts}; "
                  f"a failed fetch of the Delta jars looks like this); again in {pause:g} s",
                  file=sys.stderr, flush=True)
            time.sleep(pause)
    raise AssertionError("unreachable")


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
        spark = start_retrying(lambda: configure_spark_with_delta_pip(b).getOrCreate())
    else:
        os.makedirs(os.path.dirname(os.path.abspath(jvm_log)), exist_ok=True)

        def start() -> SparkSession:
            saved = os.dup(2)
            try:
                with open(jvm_log, "ab") as log:
                    os.dup2(log.fileno(), 2)  # the JVM child inherits this stderr
                    return configure_spark_with_delta_pip(b).getOrCreate()
            finally:
                os.dup2(saved, 2)
                os.close(saved)

        spark = start_retrying(start)
    spark.sparkContext.setLogLevel(os.environ.get("SOUNDLAKE_SPARK_LOG_LEVEL", "ERROR"))
    return spark
