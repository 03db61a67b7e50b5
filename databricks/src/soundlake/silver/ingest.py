"""Silver: bronze files -> transformed, de-duplicated Delta tables, exactly once.

Per bronze table, one streaming query (checkpointed, `availableNow`) hands each new file
to `write_batch`, which in one micro-batch:
  1. applies the table's transformation (silver/transforms.py),
  2. keeps rows with rescued data in `silver.<name>_rescued` (nothing unexpected is lost),
  3. drops `_rescued_data`,
  4. appends each distinct version to `silver.<name>_changes` (insert-only MERGE on key,
     updated_at and row hash: the append-only change feed gold's SCD2 reads),
  5. upserts the latest version per key into `silver.<name>` (MERGE that only moves a
     row forward in `updated_at`), so reruns and backfilled files never duplicate.
Every write is a MERGE keyed on the data, so replaying a micro-batch changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from soundlake import lake as lk
from soundlake.bronze import DEMO_TABLES, RESCUED_COLUMN, SOURCE_FILE_COLUMN, BronzeTable, struct
from soundlake.silver.sources import BronzeSource
from soundlake.silver.transforms import transform
from soundlake.utils import (
    drop_rescued_data,
    try_persist,
    latest_per_key,
    null_safe_key_condition,
    rescued_rows,
    row_hash,
    version_order,
)

RESCUED_SCHEMA = struct([("table_name", "string"), ("record_key", "string"),
                         ("source_file", "string"), ("rescued_data", "string"),
                         ("ingested_at", "timestamp")])


def changes_name(table: BronzeTable) -> str:
    return f"{table.silver_name}_changes"


def rescued_name(table: BronzeTable) -> str:
    """One rescue table per bronze table, so parallel per-table streams never contend."""
    return f"{table.silver_name}_rescued"


def silver_schema(spark: SparkSession, table: BronzeTable) -> StructType:
    """Columns of `silver.<name>`: transformed business columns, then lineage."""
    empty = spark.createDataFrame([], table.schema)
    cols = transform(table.name, empty).schema
    return StructType(list(cols.fields)).add(SOURCE_FILE_COLUMN, "string").add(
        "_ingested_at", "timestamp"
    )


def changes_schema(spark: SparkSession, table: BronzeTable) -> StructType:
    return StructType(list(silver_schema(spark, table).fields)).add("_row_hash", "string")


def ensure_silver_tables(spark: SparkSession, lake: lk.Lake, table: BronzeTable) -> None:
    lk.ensure_table(spark, lake, "silver", table.silver_name, silver_schema(spark, table),
                    f"Latest version per {', '.join(table.keys)} of bronze {table.name}")
    lk.ensure_table(spark, lake, "silver", changes_name(table), changes_schema(spark, table),
                    f"Every distinct version of bronze {table.name} (append-only CDC feed)")
    lk.ensure_table(spark, lake, "silver", rescued_name(table), RESCUED_SCHEMA,
                    f"Rows of bronze {table.name} whose file carried unexpected columns or values")


@dataclass
class BatchStats:
    batches: int = 0
    rows: int = 0
    rescued: int = 0
    files: set[str] = field(default_factory=set)


def write_batch(
    spark: SparkSession,
    lake: lk.Lake,
    table: BronzeTable,
    rows: DataFrame,
    stats: BatchStats | None = None,
) -> None:
    """Apply one micro-batch of bronze rows to silver (idempotent)."""
    df = transform(table.name, rows).withColumn("_ingested_at", F.current_timestamp())
    df, cached = try_persist(df)
    try:
        agg = df.agg(
            F.count(F.lit(1)).alias("n"),
            F.count(RESCUED_COLUMN).alias("r"),
            F.collect_set(SOURCE_FILE_COLUMN).alias("f"),
        ).first()
        if stats is not None:
            stats.batches += 1
            stats.rows += agg["n"]
            stats.rescued += agg["r"]
            stats.files.update(agg["f"])
        if agg["r"]:
            _merge_rescued(spark, lake, table, df)
        clean = drop_rescued_data(df)
        _merge_changes(spark, lake, table, clean)
        _merge_latest(spark, lake, table, clean)
    finally:
        if cached:
            df.unpersist()


def _business(spark: SparkSession, table: BronzeTable) -> list[str]:
    return [c for c in transform(table.name, spark.createDataFrame([], table.schema)).columns]


def _merge_rescued(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    src = rescued_rows(df, table.name, table.keys).dropDuplicates(
        ["table_name", "source_file", "record_key"]
    )
    (
        lk.delta_table(spark, lake, "silver", rescued_name(table)).alias("t")
        .merge(src.alias("s"), "t.table_name = s.table_name AND t.source_file = s.source_file "
                               "AND t.record_key = s.record_key")
        .whenNotMatchedInsertAll()
        .execute()
    )


def _merge_changes(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    business = _business(spark, table)
    seq = table.sequence_column
    src = df.withColumn("_row_hash", row_hash(business)).dropDuplicates(
        [*table.keys, seq, "_row_hash"]
    )
    cond = (
        null_safe_key_condition(table.keys)
        + f" AND t.`{seq}` <=> s.`{seq}` AND t._row_hash = s._row_hash"
    )
    (
        lk.delta_table(spark, lake, "silver", changes_name(table)).alias("t")
        .merge(src.alias("s"), cond)
        .whenNotMatchedInsertAll()
        .execute()
    )


def _merge_latest(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    business = _business(spark, table)
    seq = table.sequence_column
    src = latest_per_key(df, table.keys, seq)
    newer = (
        version_order(f"s.{seq}", [f"s.{c}" for c in business if c != seq])
        > version_order(f"t.{seq}", [f"t.{c}" for c in business if c != seq])
    )
    (
        lk.delta_table(spark, lake, "silver", table.silver_name).alias("t")
        .merge(src.alias("s"), null_safe_key_condition(table.keys))
        .whenMatchedUpdateAll(condition=newer)
        .whenNotMatchedInsertAll()
        .execute()
    )


def run_table(
    spark: SparkSession,
    lake: lk.Lake,
    source: BronzeSource,
    table: BronzeTable,
) -> BatchStats:
    """Process every bronze file of `table` not yet in the checkpoint, then stop."""
    ensure_silver_tables(spark, lake, table)
    stats = BatchStats()

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        s = batch.sparkSession
        write_batch(s, lake, table, source.rows(s, table, batch), stats)

    lk.drain_stream(source.stream(spark, table), on_batch, lake, "silver", table.silver_name)
    return stats


def run_silver(
    spark: SparkSession,
    lake: lk.Lake,
    source: BronzeSource,
    tables: list[BronzeTable] | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, BatchStats]:
    out: dict[str, BatchStats] = {}
    for t in tables or list(DEMO_TABLES.values()):
        progress(f"silver: {t.name} -> silver.{t.silver_name}")
        s = run_table(spark, lake, source, t)
        progress(
            f"silver: {t.name}: {len(s.files)} new file(s), {s.rows} row(s), "
            f"{s.rescued} with rescued data, {s.batches} micro-batch(es)"
        )
        out[t.name] = s
    return out
