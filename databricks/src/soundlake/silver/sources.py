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
from pyspark.sql import types as T
from pyspark.sql.types import DataType, StructType

from soundlake.bronze import RESCUED_COLUMN, SOURCE_FILE_COLUMN, BronzeTable

# Bronze dates and timestamps are proleptic Gregorian, and the writer is not Spark, so Spark
# would go by the session's datetimeRebaseModeInRead: EXCEPTION before Spark 4 fails on dates
# before 1582 and on the Postgres infinity sentinels (docs/bronze-layout.md). Said per read.
REBASE_MODE = "CORRECTED"


class BronzeSource(Protocol):
    bronze_root: str  # <root>/<table>/ holds the data, <root>/_manifests/<table>/ the manifests

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
            # bronze folders are `load_date=YYYY-MM-DD`: infer no partition column from them
            .option("cloudFiles.partitionColumns", "")
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
    Each micro-batch's files are then read with their own Parquet schema and shaped as Auto
    Loader's rescue mode does (`conform`): columns the contract does not know, and columns
    whose type in the file cannot be read as the contract's type, go into `_rescued_data`
    as JSON with `_file_path`.
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


# Lossless widenings (file type -> contract type) that Spark's Parquet reader performs when
# told the contract type; tests/test_silver_stream.py checks each against the real reader.
_WIDER_INTEGERS: dict[type, tuple[type, ...]] = {
    T.ByteType: (T.ShortType, T.IntegerType, T.LongType, T.DoubleType),
    T.ShortType: (T.IntegerType, T.LongType, T.DoubleType),
    T.IntegerType: (T.LongType, T.DoubleType),
    T.FloatType: (T.DoubleType,),
    T.TimestampNTZType: (T.TimestampType,),  # read in the session time zone (UTC)
}


def reads_as(file_type: DataType, contract: DataType) -> bool:
    """Whether a Parquet column of `file_type` is read as `contract` with every value intact.

    Auto Loader does not cast: it tells the Parquet reader to read each column as the given
    type, and a column that does not match is rescued whole (Databricks: "Configure schema
    inference and evolution in Auto Loader", schema hints and the rescued data column). So a
    DOUBLE, or a decimal(5,4), where the contract says decimal(4,3) is rescued rather than
    rounded; a decimal that only gains digits on either side of the point is read.
    """
    if file_type == contract:
        return True
    if isinstance(file_type, T.DecimalType) and isinstance(contract, T.DecimalType):
        return (contract.scale >= file_type.scale
                and contract.precision - contract.scale >= file_type.precision - file_type.scale)
    return isinstance(contract, _WIDER_INTEGERS.get(type(file_type), ()))


def conform(raw: DataFrame, known: StructType, file_path: Column) -> DataFrame:
    """Shape `raw` (one Parquet schema) to `known` as Auto Loader's rescue mode does.

    A known column of a type the reader cannot read as the contract's is NULL, and its
    values (as they are in the file) go into `_rescued_data`, like columns the contract does
    not know; a row with nothing to rescue gets NULL there.
    """
    raw_types: dict[str, DataType] = {f.name: f.dataType for f in raw.schema.fields}
    cols: list[Column] = []
    rescued: list[Column] = []
    for f in known.fields:
        if f.name not in raw_types:
            cols.append(F.lit(None).cast(f.dataType).alias(f.name))
        elif reads_as(raw_types[f.name], f.dataType):
            cols.append(F.col(f.name).cast(f.dataType).alias(f.name))
        else:
            cols.append(F.lit(None).cast(f.dataType).alias(f.name))
            rescued.append(F.col(f.name))
    known_names = {f.name for f in known.fields}
    rescued += [F.col(c) for c in raw.columns if c not in known_names]
    if rescued:
        payload = F.to_json(F.struct(*rescued))  # NULL fields are omitted
        with_path = F.to_json(F.struct(*rescued, file_path.alias("_file_path")))
        rescue = F.when(payload == F.lit("{}"), F.lit(None).cast("string")).otherwise(with_path)
    else:
        rescue = F.lit(None).cast("string")
    return raw.select(*cols, rescue.alias(RESCUED_COLUMN), file_path.alias(SOURCE_FILE_COLUMN))
