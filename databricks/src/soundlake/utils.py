"""Reusable DataFrame utilities shared by silver and gold (never copied between notebooks)."""
from __future__ import annotations

from typing import Iterable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from soundlake.bronze import RESCUED_COLUMN, SOURCE_FILE_COLUMN

LINEAGE_COLUMNS = (SOURCE_FILE_COLUMN, "_ingested_at")
TECHNICAL_COLUMNS = (RESCUED_COLUMN, *LINEAGE_COLUMNS, "_row_hash")


def drop_rescued_data(df: DataFrame) -> DataFrame:
    """Drop `_rescued_data` once it has been processed (kept in silver.<name>_rescued)."""
    return df.drop(RESCUED_COLUMN)


def rescued_rows(df: DataFrame, table: str, keys: Sequence[str]) -> DataFrame:
    """Rows that carried unexpected data, shaped for `silver.<name>_rescued` (nothing is lost)."""
    return df.where(F.col(RESCUED_COLUMN).isNotNull()).select(
        F.lit(table).alias("table_name"),
        F.to_json(F.struct(*[F.col(k) for k in keys])).alias("record_key"),
        F.col(SOURCE_FILE_COLUMN).alias("source_file"),
        F.col(RESCUED_COLUMN).alias("rescued_data"),
        F.col("_ingested_at").alias("ingested_at"),
    )


def business_columns(df: DataFrame) -> list[str]:
    """Columns that are data, not lineage or rescue bookkeeping."""
    return [c for c in df.columns if c not in TECHNICAL_COLUMNS]


def version_order_sql(alias: str, sequence_column: str, columns: Iterable[str]) -> str:
    """Total order of versions of one key, as SQL over `alias`: by sequence, ties broken by
    the row's values.

    Equal sequence values for one key are not supposed to happen (the source bumps
    updated_at on every change). When they do, the version whose values compare greatest
    (in declared column order, NULL smallest) wins, so the outcome never depends on the
    order files arrive in.
    """
    rest = [c for c in columns if c != sequence_column]
    fields = [f"{alias}.`{sequence_column}`", *[f"{alias}.`{c}`" for c in rest]]
    return f"struct({', '.join(fields)})"


def latest_per_key(df: DataFrame, keys: Sequence[str], sequence_column: str) -> DataFrame:
    """One row per key: the latest by `sequence_column` (ties broken by `version_order_sql`)."""
    order = [F.col(sequence_column).desc_nulls_last()] + [
        F.col(c).desc_nulls_last() for c in business_columns(df) if c != sequence_column
    ]
    w = Window.partitionBy(*keys).orderBy(*order)
    return df.withColumn("__rn", F.row_number().over(w)).where("__rn = 1").drop("__rn")


def row_hash(columns: Sequence[str]) -> Column:
    """Stable hash of a row's business values (identical versions hash equal)."""
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in columns])), 256)


def null_safe_key_condition(keys: Sequence[str], left: str = "t", right: str = "s") -> str:
    return " AND ".join(f"{left}.`{k}` <=> {right}.`{k}`" for k in keys)


def try_persist(df: DataFrame) -> tuple[DataFrame, bool]:
    """Cache a micro-batch that several writes read; serverless compute refuses to cache."""
    try:
        return df.persist(), True
    except Exception:  # noqa: BLE001 - e.g. NOT_SUPPORTED_WITH_SERVERLESS
        return df, False
