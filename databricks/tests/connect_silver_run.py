"""Run silver for one bronze table under a Spark Connect session (a separate process).

    python tests/connect_silver_run.py <bronze dir> <lake dir> <bronze table>

Starts pyspark's local Spark Connect server (`SparkSession.builder.remote("local[2]")`, the
server in this process's JVM, Delta on its class path) and runs `run_table` through the
Connect client, as Databricks serverless runs the silver job (the table's contract resolved
from the repository catalog, reading its manifests through Connect): the foreachBatch function
runs in a Python worker the server starts, not in this process. Prints the run's
BatchStats as one JSON line. SPARK_TESTING lets the server take a free port.
"""
from __future__ import annotations

import json
import os
import sys


def main(bronze: str, lake_dir: str, table_name: str) -> None:
    os.environ["SPARK_TESTING"] = "1"  # ephemeral Connect port (several test runs on one host)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    from soundlake import lake as lk
    from soundlake.local.spark import LOCAL_CONF
    from soundlake.silver.ingest import run_silver
    from demo_tables import CATALOG
    from soundlake.silver.sources import LocalFileSource

    b = SparkSession.builder.remote("local[2]")
    conf = {**LOCAL_CONF, "spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2"}
    for k, v in conf.items():
        b = b.config(k, v)
    spark = configure_spark_with_delta_pip(b).getOrCreate()
    assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
    stats = run_silver(spark, lk.PathLake(lake_dir), LocalFileSource(bronze),
                       [CATALOG.table(table_name)])[table_name]
    print("STATS " + json.dumps({"batches": stats.batches, "rows": stats.rows,
                                 "rescued": stats.rescued, "files": sorted(stats.files)}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
