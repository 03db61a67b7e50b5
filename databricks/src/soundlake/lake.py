"""Where silver and gold tables live: Unity Catalog names on Databricks, Delta folders locally.

The logic never builds a table name itself; it asks a Lake. `CatalogLake` gives
`<catalog>.<silver schema>.users` (the schema names come from the bundle: in a development
deployment they are prefixed, e.g. `dev_alice_silver`); `PathLake` gives
delta.`<root>/silver/users` on one machine.

Tables are created, merged into and appended to with SQL and DataFrame writes only (no
`DeltaTable` builder), so the same code runs on classic Spark and over Spark Connect
(Databricks serverless, or a local Connect server without the Delta Connect plugin).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


def _identifier(kind: str, value: str) -> None:
    """A catalog or schema name from configuration: letters, digits and _ (what the bundle's
    names and development mode's `dev_<user>_` prefix consist of), so it is safe unquoted too."""
    if not value or not value.replace("_", "").isalnum():
        raise ValueError(f"{kind} name {value!r} must be letters, digits and _")


@dataclass(frozen=True)
class CatalogLake:
    """Unity Catalog: three-level names; checkpoints in a UC volume (external location)."""

    catalog: str
    checkpoint_root: str  # e.g. /Volumes/<catalog>/<silver schema>/checkpoints
    silver_schema: str = "silver"
    gold_schema: str = "gold"

    def __post_init__(self) -> None:
        _identifier("catalog", self.catalog)
        _identifier("silver schema", self.silver_schema)
        _identifier("gold schema", self.gold_schema)

    def schema(self, layer: str) -> str:
        return {"silver": self.silver_schema, "gold": self.gold_schema}[layer]

    def sql_name(self, layer: str, name: str) -> str:
        _check(layer, name)
        return f"`{self.catalog}`.`{self.schema(layer)}`.`{name}`"

    def checkpoint(self, layer: str, name: str) -> str:
        return f"{self.checkpoint_root.rstrip('/')}/{layer}/{name}"

    def exists(self, spark: SparkSession, layer: str, name: str) -> bool:
        _check(layer, name)
        return spark.catalog.tableExists(f"{self.catalog}.{self.schema(layer)}.{name}")


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
        # The folder is on this machine; its Delta log says it is a table (no DeltaTable
        # builder, which Spark Connect without the Delta plugin lacks).
        return (Path(self.path(layer, name)) / "_delta_log").is_dir()


def sql_string(s: str) -> str:
    """A SQL string literal."""
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


def exists(spark: SparkSession, lake: Lake, layer: str, name: str) -> bool:
    """Whether the table has been created (a Delta folder locally, a Unity Catalog table)."""
    if isinstance(lake, PathLake):
        return (Path(lake.path(layer, name)) / "_delta_log").is_dir()
    return spark.catalog.tableExists(lake.sql_name(layer, name).replace("`", ""))


def add_columns(spark: SparkSession, lake: Lake, layer: str, name: str,
                columns: "list[tuple[str, str]]") -> None:
    """Add nullable columns at the end (rows written before read NULL there)."""
    cols = ", ".join(f"`{c}` {t}" for c, t in columns)
    spark.sql(f"ALTER TABLE {lake.sql_name(layer, name)} ADD COLUMNS ({cols})")


def read(spark: SparkSession, lake: Lake, layer: str, name: str) -> DataFrame:
    return spark.table(lake.sql_name(layer, name))


def read_stream(spark: SparkSession, lake: Lake, layer: str, name: str) -> DataFrame:
    if isinstance(lake, PathLake):
        return spark.readStream.format("delta").load(lake.path(layer, name))
    return spark.readStream.table(lake.sql_name(layer, name).replace("`", ""))


def drain_stream(stream: DataFrame, on_batch, lake: Lake, layer: str, name: str):
    """Process everything available now, once, through `on_batch`; the checkpoint makes reruns
    resume. Returns the finished query (its `runId` and progress)."""
    query = (
        stream.writeStream.foreachBatch(on_batch)
        .option("checkpointLocation", lake.checkpoint(layer, name))
        .queryName(f"{layer}_{name}")
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return query


def delta_table(spark: SparkSession, lake: Lake, layer: str, name: str):
    """The `DeltaTable` handle (classic Spark, or Connect with Delta Connect): the local gold engine."""
    from delta.tables import DeltaTable

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
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
    sql = f"CREATE TABLE IF NOT EXISTS {lake.sql_name(layer, name)} ({columns}) USING DELTA"
    if comment:
        sql += f" COMMENT {sql_string(comment)}"
    if properties:
        sql += " TBLPROPERTIES (" + ", ".join(
            f"{sql_string(k)} = {sql_string(v)}" for k, v in properties.items()) + ")"
    spark.sql(sql)


def merge(spark: SparkSession, lake: Lake, layer: str, name: str, source: DataFrame, clauses: str) -> None:
    """`MERGE INTO <table> t USING <source> s <clauses>`, the source as a session temp view
    (the documented foreachBatch upsert pattern; plain SQL, so Spark Connect needs no plugin)."""
    view = f"soundlake_merge_source_{layer}_{name}"
    source.createOrReplaceTempView(view)
    try:
        spark.sql(f"MERGE INTO {lake.sql_name(layer, name)} t USING `{view}` s {clauses}")
    finally:
        spark.catalog.dropTempView(view)


def _writer(df: DataFrame, mode: str):
    return df.write.format("delta").mode(mode)


def _save(w, lake: Lake, layer: str, name: str) -> None:
    if isinstance(lake, PathLake):
        w.save(lake.path(layer, name))
    else:
        w.saveAsTable(lake.sql_name(layer, name).replace("`", ""))


def append(df: DataFrame, lake: Lake, layer: str, name: str) -> None:
    """Append rows in one Delta commit (blind appends never conflict with each other)."""
    _save(_writer(df, "append"), lake, layer, name)


def overwrite(df: DataFrame, lake: Lake, layer: str, name: str) -> None:
    """Replace a table's content in one Delta commit (readers see old or new, never a mix)."""
    _save(_writer(df, "overwrite").option("overwriteSchema", "true"), lake, layer, name)


def sql_name_for(lake: Lake, layer: str, name: str) -> str:
    """Name for a new object (view) in a layer; only catalogs can hold persistent views."""
    if isinstance(lake, PathLake):
        raise ValueError("a path-based lake holds no persistent views; use temporary=True")
    return lake.sql_name(layer, name)
