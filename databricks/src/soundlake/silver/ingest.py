"""Silver: bronze files -> transformed, de-duplicated Delta tables, exactly once.

Per catalog table, the column contract is resolved (silver/contract.py: declared, held, or
inferred from bronze's manifests at first sight), then one streaming query (checkpointed,
`availableNow`) hands each new file to `write_batch`, which in one micro-batch:
  1. applies the table's transforms (catalog `silver.transforms`, silver/transforms.py) and stamps `_ingested_at`
     once (one time stamp, the same in every table the batch writes),
  2. keeps rows with rescued data in `silver.<name>_rescued` (nothing unexpected is lost),
  3. drops `_rescued_data`,
  4. appends each distinct version to `silver.<name>_changes` (insert-only MERGE on key,
     updated_at and row hash: the append-only change feed gold's SCD2 reads),
  5. upserts the latest version per key into `silver.<name>` (MERGE that only moves a
     row forward in `updated_at`), so reruns and backfilled files never duplicate,
  6. appends one row to `silver.<name>_ingest_log`: the run, batch id, files, row and
     rescued counts, and the time stamp.
Every write to the data tables is a MERGE keyed on the data, so replaying a micro-batch
changes nothing there.

A run takes a group of tables, several streams at a time (`run_silver`'s `concurrency`, one
thread each in the same Spark application): a table that fails is reported and the others
land; the run then fails once, naming every failed table (`SilverTablesFailed`).

The counts a run prints are read back from `<name>_ingest_log`: on serverless (Spark
Connect) the foreachBatch function runs in another process, so nothing it assigns to a
variable of the caller ever reaches the caller.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from soundlake import lake as lk
from soundlake.bronze import RESCUED_COLUMN, SOURCE_FILE_COLUMN, BronzeTable, struct
from soundlake.catalog import TableEntry
from soundlake.silver import contract
from soundlake.silver.sources import BronzeSource
from soundlake.silver.transforms import apply
from soundlake.utils import (
    drop_rescued_data,
    try_persist,
    latest_per_key,
    null_safe_key_condition,
    rescued_rows,
    row_hash,
    version_order_sql,
)

RESCUED_SCHEMA = struct([("table_name", "string"), ("record_key", "string"),
                         ("source_file", "string"), ("rescued_data", "string"),
                         ("ingested_at", "timestamp")])
INGEST_LOG_SCHEMA = StructType([
    StructField("run_id", StringType()), StructField("batch_id", LongType()),
    StructField("files", ArrayType(StringType())), StructField("rows", LongType()),
    StructField("rescued", LongType()), StructField("ingested_at", TimestampType()),
])


def changes_name(table: BronzeTable) -> str:
    return f"{table.silver_name}_changes"


def rescued_name(table: BronzeTable) -> str:
    """One rescue table per bronze table, so parallel per-table streams never contend."""
    return f"{table.silver_name}_rescued"


def ingest_log_name(table: BronzeTable) -> str:
    """One row per micro-batch of `table` (per table, like the rescue table)."""
    return f"{table.silver_name}_ingest_log"


def silver_schema(spark: SparkSession, table: BronzeTable) -> StructType:
    """Columns of `silver.<name>`: transformed business columns, then lineage."""
    empty = spark.createDataFrame([], table.schema)
    cols = apply(empty, table.transforms).schema
    return StructType(list(cols.fields)).add(SOURCE_FILE_COLUMN, "string").add(
        "_ingested_at", "timestamp"
    )


def changes_schema(spark: SparkSession, table: BronzeTable) -> StructType:
    return StructType(list(silver_schema(spark, table).fields)).add("_row_hash", "string")


def ensure_silver_tables(spark: SparkSession, lake: lk.Lake, table: BronzeTable,
                         origin: str = "catalog") -> None:
    """Create the four silver tables of `table` (the contract's origin recorded on the first),
    or give existing ones the columns a grown contract or a new transform adds."""
    wanted = silver_schema(spark, table)
    if lk.exists(spark, lake, "silver", table.silver_name):
        have = {f.name for f in lk.read(spark, lake, "silver", table.silver_name).schema.fields}
        missing = [(f.name, f.dataType.simpleString()) for f in wanted.fields if f.name not in have]
        if missing:
            lk.add_columns(spark, lake, "silver", table.silver_name, missing)
            lk.add_columns(spark, lake, "silver", changes_name(table), missing)
    lk.ensure_table(spark, lake, "silver", table.silver_name, wanted,
                    f"Latest version per {', '.join(table.keys)} of bronze {table.name}",
                    {contract.CONTRACT_PROPERTY: origin})
    lk.ensure_table(spark, lake, "silver", changes_name(table), changes_schema(spark, table),
                    f"Every distinct version of bronze {table.name} (append-only CDC feed)")
    lk.ensure_table(spark, lake, "silver", rescued_name(table), RESCUED_SCHEMA,
                    f"Rows of bronze {table.name} whose file carried unexpected columns or values")
    lk.ensure_table(spark, lake, "silver", ingest_log_name(table), INGEST_LOG_SCHEMA,
                    f"One row per silver micro-batch of bronze {table.name}: files, rows, rescued")


@dataclass
class BatchStats:
    run_id: str = ""  # the run's rows in <name>_ingest_log
    skipped: str = ""  # why the table was left for a later run (no committed bronze slice yet)
    batches: int = 0
    rows: int = 0
    rescued: int = 0
    files: set[str] = field(default_factory=set)


def write_batch(
    spark: SparkSession,
    lake: lk.Lake,
    table: BronzeTable,
    rows: DataFrame,
    batch_id: int = 0,
    run_id: str = "",
) -> None:
    """Apply one micro-batch of bronze rows to silver (idempotent), then log it."""
    # a literal, not current_timestamp(): the same instant in every table this batch writes,
    # even where the batch is recomputed for each write (no cache on serverless before
    # environment version 5)
    stamp = dt.datetime.now(dt.timezone.utc)
    df = apply(rows, table.transforms).withColumn("_ingested_at", F.lit(stamp))
    df, cached = try_persist(df)
    try:
        agg = df.agg(
            F.count(F.lit(1)).alias("n"),
            F.count(RESCUED_COLUMN).alias("r"),
            F.collect_set(SOURCE_FILE_COLUMN).alias("f"),
        ).first()
        if agg["r"]:
            _merge_rescued(spark, lake, table, df)
        clean = drop_rescued_data(df)
        _merge_changes(spark, lake, table, clean)
        _merge_latest(spark, lake, table, clean)
        log = spark.createDataFrame(
            [(run_id, batch_id, sorted(agg["f"]), agg["n"], agg["r"], stamp)], INGEST_LOG_SCHEMA)
        lk.append(log, lake, "silver", ingest_log_name(table))
    finally:
        if cached:
            df.unpersist()


def _business(spark: SparkSession, table: BronzeTable) -> list[str]:
    return apply(spark.createDataFrame([], table.schema), table.transforms).columns


def _merge_rescued(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    src = rescued_rows(df, table.name, table.keys).dropDuplicates(
        ["table_name", "source_file", "record_key"]
    )
    lk.merge(spark, lake, "silver", rescued_name(table), src,
             "ON t.table_name = s.table_name AND t.source_file = s.source_file "
             "AND t.record_key = s.record_key WHEN NOT MATCHED THEN INSERT *")


def _merge_changes(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    business = _business(spark, table)
    seq = table.sequence_column
    src = df.withColumn("_row_hash", row_hash(business)).dropDuplicates(
        [*table.keys, seq, "_row_hash"]
    )
    on = (null_safe_key_condition(table.keys)
          + f" AND t.`{seq}` <=> s.`{seq}` AND t._row_hash = s._row_hash")
    lk.merge(spark, lake, "silver", changes_name(table), src,
             f"ON {on} WHEN NOT MATCHED THEN INSERT *")


def _merge_latest(spark: SparkSession, lake: lk.Lake, table: BronzeTable, df: DataFrame) -> None:
    business = _business(spark, table)
    seq = table.sequence_column
    src = latest_per_key(df, table.keys, seq)
    newer = f"{version_order_sql('s', seq, business)} > {version_order_sql('t', seq, business)}"
    lk.merge(spark, lake, "silver", table.silver_name, src,
             f"ON {null_safe_key_condition(table.keys)} "
             f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")


def run_stats(spark: SparkSession, lake: lk.Lake, table: BronzeTable, run_id: str) -> BatchStats:
    """What one run did, from `<name>_ingest_log` (the only channel out of foreachBatch)."""
    rows = (lk.read(spark, lake, "silver", ingest_log_name(table))
            .where(F.col("run_id") == F.lit(run_id)).collect())
    files: set[str] = set()
    for r in rows:
        files.update(r.files)
    return BatchStats(run_id=run_id, batches=len(rows), rows=sum(r.rows for r in rows),
                      rescued=sum(r.rescued for r in rows), files=files)


def run_table(
    spark: SparkSession,
    lake: lk.Lake,
    source: BronzeSource,
    table: BronzeTable,
    origin: str = "catalog",
    run_id: str = "",
) -> BatchStats:
    """Process every bronze file of `table` not yet in the checkpoint, then stop."""
    ensure_silver_tables(spark, lake, table, origin)
    run_id = run_id or uuid.uuid4().hex  # read (never assigned) inside the batch function

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        s = batch.sparkSession
        write_batch(s, lake, table, source.rows(s, table, batch), batch_id, run_id)

    lk.drain_stream(source.stream(spark, table), on_batch, lake, "silver", table.silver_name)
    return run_stats(spark, lake, table, run_id)


class SilverTablesFailed(RuntimeError):
    """Some tables of a run failed; the others finished. Raised once, at the end of the run,
    so the task fails (and its notifications fire) while every table that could land did."""

    def __init__(self, failures: dict[str, BaseException], done: dict[str, BatchStats]):
        self.failures, self.done = failures, done
        lines = [f"  - {name}: {type(e).__name__}: {_cause(e)}" for name, e in failures.items()]
        super().__init__(f"silver: {len(failures)} of {len(failures) + len(done)} table(s) failed "
                         f"(the others landed; a rerun resumes each failed table from its "
                         f"checkpoint):\n" + "\n".join(lines))


# the last line of a Python traceback inside a Spark error: the exception that was raised
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Invalid|Failure)\w*: \S")


def _cause(e: BaseException) -> str:
    """The cause in one line: the innermost raised exception a streaming query's error carries
    (its first line is only "[STREAM_FAILED] Query [id = ...] terminated"), else the first line."""
    lines = str(e).strip().splitlines()
    raised = [line for line in lines if _RAISED.match(line)]
    return raised[-1] if raised else (lines[0] if lines else "(no message)")


def _silver_one(spark: SparkSession, lake: lk.Lake, source: BronzeSource, entry: TableEntry,
                progress: Callable[[str], None], run_id: str) -> BatchStats:
    """Silver for one catalog table: resolve its contract, then take its new bronze files."""
    resolved = contract.resolve(spark, lake, source.bronze_root, entry)
    if resolved is None:
        why = "no committed bronze slice yet (no manifest under _manifests/); left for a later run"
        progress(f"silver: {entry.name}: {why}")
        return BatchStats(skipped=why)
    t = resolved.table
    progress(f"silver: {t.name} -> silver.{t.silver_name} (contract: {resolved.origin})")
    s = run_table(spark, lake, source, t, resolved.origin, run_id)
    progress(
        f"silver: {t.name}: run {s.run_id}: {len(s.files)} new file(s), {s.rows} row(s), "
        f"{s.rescued} with rescued data, {s.batches} micro-batch(es)"
    )
    return s


def run_silver(
    spark: SparkSession,
    lake: lk.Lake,
    source: BronzeSource,
    tables: Iterable[TableEntry],
    progress: Callable[[str], None] = lambda _m: None,
    concurrency: int = 1,
) -> dict[str, BatchStats]:
    """Silver for each catalog table, up to `concurrency` tables' streams at once in this Spark
    application (a session takes jobs from several threads; each table keeps its own
    checkpoint, so each file is still taken exactly once). A table that fails is reported and
    the others go on; at the end, SilverTablesFailed names every failed table and its cause."""
    if concurrency < 1:
        raise ValueError(f"concurrency: must be at least 1, got {concurrency}")
    entries = list(tables)
    out: dict[str, BatchStats] = {}
    failures: dict[str, BaseException] = {}
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:  # whole lines, whatever the threads print at once
            progress(line)

    def one(entry: TableEntry) -> None:
        run_id = uuid.uuid4().hex
        try:
            out[entry.name] = _silver_one(spark, lake, source, entry, say, run_id)
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            say(f"silver: {entry.name}: run {run_id}: failed: {type(e).__name__}: {_cause(e)}")
            failures[entry.name] = e

    with ThreadPoolExecutor(max_workers=min(concurrency, max(len(entries), 1)),
                            thread_name_prefix="silver") as pool:
        list(pool.map(one, entries))
    done = {e.name: out[e.name] for e in entries if e.name in out}  # in catalog order
    if failures:
        failed = {e.name: failures[e.name] for e in entries if e.name in failures}
        # the first failure's whole trace stays in the task's log
        raise SilverTablesFailed(failed, done) from next(iter(failed.values()))
    return done
