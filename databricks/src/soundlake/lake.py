"""Where silver and gold tables live: Unity Catalog names on Databricks, Delta folders locally.

The logic never builds a table name itself; it asks a Lake. `CatalogLake` gives
`<catalog>.silver.users`; `PathLake` gives delta.`<root>/silver/users` on one machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

LAYERS = ("silver", "gold")


class Lake(Protocol):
    def sql_name(self, layer: str, name: str) -> str: ...
    def checkpoint(self, layer: str, name: str) -> str: ...
    def exists(self, spark: SparkSession, layer: str, name: str) -> bool: ...


def _check(layer: str, name: str) -> None:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"table name {name!r} must be letters, digits and _")


@dataclass(frozen=True)
class CatalogLake:
    """Unity Catalog: three-level names; checkpoints in a UC volume (external location)."""

    catalog: str
    checkpoint_root: str  # e.g. /Volumes/<catalog>/silver/checkpoints

    def sql_name(self, layer: str, name: str) -> str:
        _check(layer, name)
        return f"`{self.catalog}`.`{layer}`.`{name}`"

    def checkpoint(self, layer: str, name: str) -> str:
        return f"{self.checkpoint_root.rstrip('/')}/{layer}/{name}"

    def exists(self, spark: SparkSession, layer: str, name: str) -> bool:
        return spark.catalog.tableExists(f"{self.catalog}.{layer}.{name}")


@dataclass(frozen=True)
class PathLake:
    """One folder on one machine: <root>/<layer>/<name> Delta tables, <root>/_checkpoints/..."""

    root: str

    def path(self, layer: str, name: str) -> str:
        _check(layer, name)
        return str(Path(self.root).resolve() / layer / name)

    def sql_name(self, layer: str, name: str) -> str:
        return f"delta.`{self.path(layer, name)}`"

    def checkpoint(self, layer: str, name: str) -> str:
        return str(Path(self.root).resolve() / "_checkpoints" / layer / name)

    def exists(self, spark: SparkSession, layer: str, name: str) -> bool:
        return DeltaTable.isDeltaTable(spark, self.path(layer, name))


def read(spark: SparkSession, lake: Lake, layer: str, name: str) -> DataFrame:
    return spark.table(lake.sql_name(layer, name))


def read_stream(spark: SparkSession, lake: Lake, layer: str, name: str) -> DataFrame:
    if isinstance(lake, PathLake):
        return spark.readStream.format("delta").load(lake.path(layer, name))
    return spark.readStream.table(lake.sql_name(layer, name).replace("`", ""))


def drain_stream(stream: DataFrame, on_batch, lake: Lake, layer: str, name: str) -> None:
    """Process everything available now, once, through `on_batch`; the checkpoint makes reruns resume."""
    (
        stream.writeStream.foreachBatch(on_batch)
        .option("checkpointLocation", lake.checkpoint(layer, name))
        .queryName(f"{layer}_{name}")
        .trigger(availableNow=True)
        .start()
        .awaitTermination()
    )


def delta_table(spark: SparkSession, lake: Lake, layer: str, name: str) -> DeltaTable:
    if isinstance(lake, PathLake):
        return DeltaTable.forPath(spark, lake.path(layer, name))
    return DeltaTable.forName(spark, lake.sql_name(layer, name))


def ensure_table(
    spark: SparkSession,
    lake: Lake,
    layer: str,
    name: str,
    schema: StructType,
    comment: str = "",
    properties: dict[str, str] | None = None,
) -> None:
    """Create an empty Delta table with `schema` if it does not exist yet (idempotent)."""
    if lake.exists(spark, layer, name):
        return
    b = DeltaTable.createIfNotExists(spark)
    if isinstance(lake, PathLake):
        b = b.location(lake.path(layer, name))
    else:
        b = b.tableName(lake.sql_name(layer, name))
    b = b.addColumns(schema)
    if comment:
        b = b.comment(comment)
    for k, v in (properties or {}).items():
        b = b.property(k, v)
    b.execute()


def overwrite(df: DataFrame, lake: Lake, layer: str, name: str) -> None:
    """Replace a table's content in one Delta commit (readers see old or new, never a mix)."""
    w = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if isinstance(lake, PathLake):
        w.save(lake.path(layer, name))
    else:
        w.saveAsTable(lake.sql_name(layer, name).replace("`", ""))


def sql_name_for(lake: Lake, layer: str, name: str) -> str:
    """Name for a new object (view) in a layer; only catalogs can hold persistent views."""
    if isinstance(lake, PathLake):
        raise ValueError("a path-based lake holds no persistent views; use temporary=True")
    return lake.sql_name(layer, name)
