"""The bronze contract, reader side (docs/bronze-layout.md).

One place that knows where bronze files live, how they are named, how a manifest's Parquet
types map to Spark types, and how one table is shaped for silver (BronzeTable: built from its
catalog entry and its column contract, see catalog.py and silver/contract.py). Silver reads
bronze only through this module.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable

from pyspark.sql import types as T
from pyspark.sql.types import StructType

_SIMPLE = {
    "int": T.IntegerType(), "smallint": T.ShortType(), "bigint": T.LongType(),
    "string": T.StringType(), "date": T.DateType(), "timestamp": T.TimestampType(),
    "boolean": T.BooleanType(), "double": T.DoubleType(), "float": T.FloatType(),
    "binary": T.BinaryType(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


def spark_type(name: str) -> T.DataType:
    """Spark type for a contract type name (no SparkSession needed)."""
    n = name.strip().lower()
    if n in _SIMPLE:
        return _SIMPLE[n]
    m = _DECIMAL.match(n)
    if m:
        return T.DecimalType(int(m[1]), int(m[2]))
    raise ValueError(f"unsupported column type {name!r}")


def struct(columns: "Iterable[tuple[str, str]]") -> StructType:
    return StructType([T.StructField(c, spark_type(t), True) for c, t in columns])


# The manifest's `parquetType` (shared/source/parquetTypes.ts, describeParquetType) -> the
# Spark type a reader gets for it (docs/bronze-layout.md, the type table).
PARQUET_TO_SPARK = {
    "INT32": "int", "INT32(INT_16)": "smallint", "INT64": "bigint", "FLOAT": "float",
    "DOUBLE": "double", "BOOLEAN": "boolean", "STRING": "string", "BINARY": "binary",
    "DATE": "date", "TIMESTAMP(MICROS,UTC)": "timestamp",
}
_PARQUET_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


def spark_type_of_parquet(parquet_type: str) -> str:
    """Contract type name for a manifest's `parquetType`; ValueError for one bronze never writes."""
    if parquet_type in PARQUET_TO_SPARK:
        return PARQUET_TO_SPARK[parquet_type]
    m = _PARQUET_DECIMAL.match(parquet_type)
    if m:
        return f"decimal({int(m[1])},{int(m[2])})"
    raise ValueError(f"parquetType {parquet_type!r} is not one the bronze writer produces")


def parquet_type_of_spark(spark_type_name: str) -> str:
    """The manifest's `parquetType` for a contract type (what the TypeScript writer records)."""
    t = spark_type(spark_type_name)
    if isinstance(t, T.DecimalType):
        return f"DECIMAL({t.precision},{t.scale})"
    return {v: k for k, v in PARQUET_TO_SPARK.items()}[t.simpleString()]

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DATA_FILE = re.compile(
    r"(?:^|/)(?P<table>[a-z][a-z0-9_]{0,62})/load_date=(?P<load_date>\d{4}-\d{2}-\d{2})/"
    r"(?P=table)__(?P<slice>s\d{10}(?:-r\d{4})?|b[^_/]+-c\d+)__p(?P<part>\d{5})\.parquet$"
)
RESCUED_COLUMN = "_rescued_data"
SOURCE_FILE_COLUMN = "_source_file"


@dataclass(frozen=True)
class BronzeTable:
    """One bronze table as silver reads it: folder name, silver name, primary key, typed columns
    (the contract: declared in the catalog, or held since first sight), the column that orders
    versions, and the transforms silver applies (catalog.Transform)."""

    name: str
    silver_name: str
    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, Spark DDL type), in source order
    sequence_column: str = "updated_at"
    transforms: tuple = ()

    def __post_init__(self) -> None:
        if not TABLE_NAME.match(self.name):
            raise ValueError(f"bronze table name {self.name!r} does not match {TABLE_NAME.pattern}")
        names = [c for c, _ in self.columns]
        for k in (*self.keys, self.sequence_column):
            if k not in names:
                raise ValueError(f"{self.name}: key/sequence column {k!r} is not a column")

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def ddl(self) -> str:
        return ", ".join(f"{c} {t}" for c, t in self.columns)

    @property
    def schema(self) -> StructType:
        return struct(self.columns)

    def folder(self, bronze_root: str) -> str:
        """The folder Auto Loader (or the local stand-in) reads: `<root>/<table>/`."""
        return f"{bronze_root.rstrip('/')}/{self.name}/"

    def manifest_folder(self, bronze_root: str) -> str:
        return f"{bronze_root.rstrip('/')}/_manifests/{self.name}/"


@dataclass(frozen=True)
class DataFile:
    table: str
    load_date: str
    slice: str
    part: int

    @property
    def is_backfill(self) -> bool:
        return self.slice.startswith("b")


def parse_data_path(path: str) -> DataFile | None:
    """Parse `<table>/load_date=YYYY-MM-DD/<table>__<slice>__p<part>.parquet`; None if not data."""
    if is_bookkeeping(path):
        return None
    m = DATA_FILE.search(path)
    if not m:
        return None
    return DataFile(m["table"], m["load_date"], m["slice"], int(m["part"]))


def is_bookkeeping(path: str) -> bool:
    """True for anything under a folder starting with `_` (manifests, backfills): never data."""
    return any(p.startswith("_") for p in PurePosixPath(path).parts[:-1])


def read_manifest(text: str) -> dict:
    """Parse one manifest (`_manifests/<table>/<slice>.json`), checking the fields we rely on."""
    m = json.loads(text)
    for field in ("version", "table", "slice", "kind", "rows", "files", "columns", "primaryKey"):
        if field not in m:
            raise ValueError(f"manifest is missing field {field!r}")
    if m["version"] != 1:
        raise ValueError(f"manifest version {m['version']!r} is not supported (expected 1)")
    return m


def manifest_rows(manifests: Iterable[dict]) -> dict[str, int]:
    """Rows per table according to the manifests (for reconciliation against silver)."""
    out: dict[str, int] = {}
    for m in manifests:
        out[m["table"]] = out.get(m["table"], 0) + int(m["rows"])
    return out
