"""Bronze as a stream of new rows: Auto Loader on Databricks, a file-source stand-in locally.

Both give, per micro-batch, the table's known columns (typed as the contract says), plus
`_rescued_data` (JSON of anything unexpected, with `_file_path`, or NULL) and
`_source_file`. Each bronze file is processed exactly once per checkpoint.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlparse

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from soundlake.bronze import RESCUED_COLUMN, SOURCE_FILE_COLUMN, BronzeTable

# Bronze dates and timestamps are proleptic Gregorian, and the writer is not Spark, so Spark
# would go by the session's datetimeRebaseModeInRead: EXCEPTION before Spark 4 fails on dates
# before 1582 and on the Postgres infinity sentinels (docs/bronze-layout.md). Said per read.
REBASE_MODE = "CORRECTED"


class BronzeSource(Protocol):
    def stream(self, spark: SparkSession, table: BronzeTable) -> DataFrame:
        """The streaming DataFrame whose micro-batches carry new bronze data."""

    def rows(self, spark: SparkSession, table: BronzeTable, batch: DataFrame) -> DataFrame:
        """One micro-batch as rows: known columns + `_rescued_data` + `_source_file`."""


@dataclass(frozen=True)
class AutoLoaderSource:
    """Databricks Auto Loader (`cloudFiles`) over `<bronze_root>/<table>/`."""

    bronze_root: str  # abfss://bronze@<account>.dfs.core.windows.net
    schema_root: str  # where Auto Loader keeps its schema tracking, per table

    def stream(self, spark: SparkSession, table: BronzeTable) -> DataFrame:
        df = (
            spark.readStream.format("cloudFiles")
            .option("cloudFiles.format", "parquet")
            .option("cloudFiles.schemaLocation", f"{self.schema_root.rstrip('/')}/{table.name}")
            .option("cloudFiles.schemaEvolutionMode", "rescue")
            .option("rescuedDataColumn", RESCUED_COLUMN)
            .option("cloudFiles.includeExistingFiles", "true")
            .option("datetimeRebaseMode", REBASE_MODE)
            .schema(table.schema)  # the contract's columns; anything else is rescued
            .load(table.folder(self.bronze_root))
        )
        return df.select(
            *table.column_names,
            RESCUED_COLUMN,
            F.col("_metadata.file_path").alias(SOURCE_FILE_COLUMN),
        )

    def rows(self, spark: SparkSession, table: BronzeTable, batch: DataFrame) -> DataFrame:
        return batch


@dataclass(frozen=True)
class LocalFileSource:
    """Stand-in for Auto Loader on one machine.

    A Structured Streaming file source (`binaryFile`, only the path is read) discovers new
    Parquet files under `<bronze_root>/<table>/` and records them in the checkpoint, so each
    file is handed over exactly once (with `availableNow`, all files present at start).
    Each micro-batch's files are then read with their own Parquet schema: known columns are
    cast to the contract's types; columns the contract does not know, and values that do
    not fit the known type, are packed into `_rescued_data` as JSON with `_file_path`, as
    Auto Loader's rescue mode does.
    """

    bronze_root: str

    def stream(self, spark: SparkSession, table: BronzeTable) -> DataFrame:
        return (
            spark.readStream.format("binaryFile")
            .schema("path string, modificationTime timestamp, length bigint, content binary")
            .option("pathGlobFilter", "*.parquet")
            .option("recursiveFileLookup", "true")
            .load(table.folder(self.bronze_root))
            .select("path")
        )

    def rows(self, spark: SparkSession, table: BronzeTable, batch: DataFrame) -> DataFrame:
        paths = sorted(r.path for r in batch.select("path").collect())
        return read_files_with_rescue(spark, table, paths)


def _local_path(uri: str) -> str:
    p = urlparse(uri)
    return unquote(p.path) if p.scheme in ("file", "") else uri


def _parquet_schema_key(spark: SparkSession, uri: str) -> str:
    import pyarrow.parquet as pq

    return str(pq.read_schema(_local_path(uri)))


def read_files_with_rescue(spark: SparkSession, table: BronzeTable, paths: list[str]) -> DataFrame:
    """Read bronze files (grouped by their physical schema) into the contract's shape."""
    known = table.schema
    empty = spark.createDataFrame([], _row_schema(known))
    if not paths:
        return empty
    groups: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        groups[_parquet_schema_key(spark, p)].append(p)
    out = empty
    for group in groups.values():
        raw = spark.read.option("datetimeRebaseMode", REBASE_MODE).parquet(*group)
        out = out.unionByName(conform(raw, known, F.col("_metadata.file_path")))
    return out


def _row_schema(known: StructType) -> StructType:
    s = StructType(list(known.fields))
    s.add(RESCUED_COLUMN, "string").add(SOURCE_FILE_COLUMN, "string")
    return s


def conform(raw: DataFrame, known: StructType, file_path: Column) -> DataFrame:
    """Shape `raw` to `known`, rescuing unknown columns and mistyped values into JSON."""
    raw_types: dict[str, DataType] = {f.name: f.dataType for f in raw.schema.fields}
    cols: list[Column] = []
    rescued: list[Column] = []
    for f in known.fields:
        if f.name not in raw_types:
            cols.append(F.lit(None).cast(f.dataType).alias(f.name))
        elif raw_types[f.name] == f.dataType:
            cols.append(F.col(f.name))
        else:
            cast = F.col(f.name).try_cast(f.dataType)
            cols.append(cast.alias(f.name))
            # a value that does not survive the cast is kept, as text, in _rescued_data
            rescued.append(
                F.when(F.col(f.name).isNotNull() & cast.isNull(), F.col(f.name).cast("string"))
                .alias(f.name)
            )
    known_names = {f.name for f in known.fields}
    rescued += [F.col(c) for c in raw.columns if c not in known_names]
    if rescued:
        payload = F.to_json(F.struct(*rescued))  # NULL fields are omitted
        with_path = F.to_json(F.struct(*rescued, file_path.alias("_file_path")))
        rescue = F.when(payload == F.lit("{}"), F.lit(None).cast("string")).otherwise(with_path)
    else:
        rescue = F.lit(None).cast("string")
    return raw.select(*cols, rescue.alias(RESCUED_COLUMN), file_path.alias(SOURCE_FILE_COLUMN))
