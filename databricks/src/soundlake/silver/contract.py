"""A table's column contract: declared in the catalog, or inferred once and then held.

What silver reads of a bronze table is its contract: the columns and their types. Whatever a
file carries beyond it (a new source column, a value of another type) goes to
`_rescued_data` and `silver.<name>_rescued`, never into the table, never lost.

- **Declared**: `silver.columns` in the catalog. That is the contract.
- **Inferred, then held**: a table whose entry declares no columns gets, when silver first sees
  it, the columns and types of its newest committed bronze slice: the manifest
  (`_manifests/<table>/<slice>.json`, written after the slice's files, so it names only
  committed data) records each column's Parquet type, which maps to one Spark type
  (bronze.PARQUET_TO_SPARK). Silver then creates `silver.<name>` with those columns, and from
  then on that table's columns *are* the contract it holds (less the lineage columns and the
  columns transforms add): later drift at the source does not move it, it is rescued. This is
  what Auto Loader does with a schema location in rescue mode (infer once, then track), with
  the types bronze recorded rather than sampled.
- **Changing a contract** is a catalog edit: declare `silver.columns`. A declared contract may
  add columns to what the silver tables hold (they gain them, NULL in earlier rows; what was
  rescued before stays in `<name>_rescued`); one that drops or retypes a held column is refused,
  naming the columns, since it would silently change what the table means.

No committed slice yet (a table just added to the catalog, before its first extraction): silver
leaves the table for a later run and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from soundlake import lake as lk
from soundlake.bronze import BronzeTable, read_manifest, spark_type_of_parquet
from soundlake.catalog import LINEAGE_COLUMNS, TableEntry

CONTRACT_PROPERTY = "soundlake.contract"


class ContractError(ValueError):
    pass


@dataclass(frozen=True)
class Resolved:
    table: BronzeTable
    origin: str  # "catalog", "held by silver.<name>", or "manifest <path>" (first sight)


def _condition(e: Exception) -> str:
    for attr in ("getCondition", "getErrorClass"):
        f = getattr(e, attr, None)
        if callable(f):
            try:
                c = f()
            except Exception:  # noqa: BLE001 - older clients
                c = None
            if c:
                return str(c)
    return ""


def read_manifests(spark: SparkSession, bronze_root: str, table: str) -> list[dict]:
    """Every committed manifest of `table` (read with Spark: abfss on Databricks, files locally)."""
    from pyspark.errors import AnalysisException

    folder = f"{bronze_root.rstrip('/')}/_manifests/{table}/"
    try:
        # as arguments of text(): its defaults would override the same options set before it
        rows = spark.read.text(folder, wholetext=True, pathGlobFilter="*.json").select("value").collect()
    except AnalysisException as e:
        if _condition(e) == "PATH_NOT_FOUND" or "PATH_NOT_FOUND" in str(e):
            return []
        raise
    return [read_manifest(r.value) for r in rows]


def infer_from_manifests(table: str, manifests: list[dict]) -> tuple[list[tuple[str, str]], str]:
    """(columns, manifest path) of the newest committed slice; types mapped from `parquetType`."""
    newest = max(manifests, key=lambda m: (str(m.get("committedAt", "")), str(m["slice"])))
    where = f"_manifests/{table}/{newest['slice']}.json"
    columns = []
    for c in newest["columns"]:
        try:
            columns.append((c["name"], spark_type_of_parquet(c["parquetType"])))
        except ValueError as e:
            raise ContractError(f"{table}: {where}: column {c['name']!r}: {e}") from None
    return columns, where


def held_columns(spark: SparkSession, lake: lk.Lake, entry: TableEntry) -> list[tuple[str, str]] | None:
    """The contract `silver.<name>` holds, or None before silver has created it."""
    if not lk.exists(spark, lake, "silver", entry.silver_name):
        return None
    added = {c for c, _ in entry.added_columns}
    return [(f.name, f.dataType.simpleString())
            for f in lk.read(spark, lake, "silver", entry.silver_name).schema.fields
            if f.name not in LINEAGE_COLUMNS and f.name not in added]


def resolve(spark: SparkSession, lake: lk.Lake, bronze_root: str, entry: TableEntry) -> Resolved | None:
    """The table as silver reads it this run, or None when bronze has no committed slice yet."""
    held = held_columns(spark, lake, entry)
    if entry.columns is not None:
        if held is None and not read_manifests(spark, bronze_root, entry.name):
            return None
        if held is not None:
            check_change(entry, held)
        return Resolved(entry.bronze_table(), "catalog")
    if held is not None:
        return Resolved(entry.bronze_table(held), f"held by silver.{entry.silver_name}")
    manifests = read_manifests(spark, bronze_root, entry.name)
    if not manifests:
        return None
    columns, where = infer_from_manifests(entry.name, manifests)
    return Resolved(entry.bronze_table(columns), f"manifest {where}")


def check_change(entry: TableEntry, held: list[tuple[str, str]]) -> None:
    """A declared contract may add columns to the held one, never drop or retype one."""
    declared = dict(entry.columns or ())
    problems = [f"{c} is {t} in silver.{entry.silver_name}, {declared[c]} in the catalog"
                for c, t in held if c in declared and declared[c] != t]
    problems += [f"{c} ({t}) is held by silver.{entry.silver_name} but not in the catalog's columns"
                 for c, t in held if c not in declared]
    if problems:
        raise ContractError(
            f"tables[{entry.index}].silver.columns ({entry.name}): a contract may gain columns, "
            f"not lose or retype them: {'; '.join(problems)}. Keep the held columns, or give the "
            "table a new silver.name (the old silver tables stay as they are)")
