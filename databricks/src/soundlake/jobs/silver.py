"""Entry points of the silver job on Databricks (python_wheel_task).

    silver        --catalog C --silver-schema S --bronze-root abfss://... --checkpoint-root /Volumes/C/S/checkpoints
                  [--table T[,T...]]... | [--group KEY --tables-per-task N]   [--concurrency N]
    silver-views  --catalog C --silver-schema S

The schema name comes from the bundle (`${resources.schemas.silver.name}`): a development
deployment prefixes it (`dev_<user>_silver`), so it is never assumed to be `silver`.

The tables are the table catalog's (soundlake.yaml, packaged into the wheel when the bundle
builds it; `--table-catalog PATH` reads another file): the job's for_each runs one `silver`
task per group of tables (`--group <source>/<k>`: one source's tables, at most
`--tables-per-task` of them, silver/groups.py; the keys are set from the same file at deploy,
resources/catalog_mutator.py). A task runs its tables' streams `--concurrency` at a time; a
table that fails does not stop the others, and the task then fails naming every failed table.
`silver-views` also checks, before the gold pipeline runs, that the catalog gives what the
views and gold read.
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterable


def _session():
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def _table_catalog(path: str | None):
    from soundlake.catalog import load_catalog

    return load_catalog(path)


def main(argv: Iterable[str] | None = None) -> int:
    from soundlake.lake import CatalogLake
    from soundlake.silver.ingest import run_silver
    from soundlake.silver.sources import AutoLoaderSource

    ap = argparse.ArgumentParser(prog="silver")
    ap.add_argument("--catalog", required=True, help="Unity Catalog catalog")
    ap.add_argument("--silver-schema", required=True)
    ap.add_argument("--bronze-root", required=True)
    ap.add_argument("--checkpoint-root", required=True)
    ap.add_argument("--table", action="append",
                    help="table(s) of the table catalog, comma-separated or repeated (default: all)")
    ap.add_argument("--group", help="a group key <source>/<k> of silver/groups.py (the bundle's for_each input)")
    ap.add_argument("--tables-per-task", type=int, help="the group size the keys were made with")
    ap.add_argument("--concurrency", type=int, default=4, help="tables' streams at once (default 4)")
    ap.add_argument("--table-catalog", help="soundlake.yaml to read (default: the one in the wheel)")
    a = ap.parse_args(list(argv) if argv is not None else None)
    if a.concurrency < 1:
        ap.error(f"--concurrency {a.concurrency}: must be at least 1")
    catalog = _table_catalog(a.table_catalog)
    tables = _chosen_tables(ap, a, catalog)
    lake = CatalogLake(a.catalog, a.checkpoint_root, silver_schema=a.silver_schema)
    source = AutoLoaderSource(a.bronze_root, schema_root=f"{a.checkpoint_root.rstrip('/')}/_schemas")
    run_silver(_session(), lake, source, tables, progress=print, concurrency=a.concurrency)
    return 0


def _chosen_tables(ap: argparse.ArgumentParser, a: argparse.Namespace, catalog) -> list:
    """The catalog entries named by --table or --group (every table when neither is given)."""
    if a.group is not None:
        from soundlake.silver.groups import silver_groups

        if a.table:
            ap.error("--group and --table: give one or the other")
        if a.tables_per_task is None:
            ap.error("--group needs --tables-per-task (the size the bundle's keys were made with)")
        groups = silver_groups(catalog.tables, a.tables_per_task)
        if a.group not in groups:
            ap.error(f"--group {a.group}: not a group of the table catalog {catalog.file} at "
                     f"{a.tables_per_task} table(s) per task (it has: {', '.join(groups)})")
        return groups[a.group]
    names = [n.strip() for v in a.table or () for n in v.split(",") if n.strip()]
    unknown = sorted(set(names) - set(catalog.names))
    if unknown:
        ap.error(f"--table {', '.join(unknown)}: not in the table catalog {catalog.file} "
                 f"(it has: {', '.join(catalog.names)})")
    return [catalog.table(t) for t in dict.fromkeys(names)] if names else list(catalog.tables)


def views(argv: Iterable[str] | None = None) -> int:
    from soundlake.gold import needs
    from soundlake.lake import CatalogLake
    from soundlake.silver.views import create_views

    ap = argparse.ArgumentParser(prog="silver-views")
    ap.add_argument("--catalog", required=True, help="Unity Catalog catalog")
    ap.add_argument("--silver-schema", required=True)
    ap.add_argument("--table-catalog", help="soundlake.yaml to read (default: the one in the wheel)")
    a = ap.parse_args(list(argv) if argv is not None else None)
    catalog = _table_catalog(a.table_catalog)
    lake = CatalogLake(a.catalog, "", silver_schema=a.silver_schema)
    spark = _session()
    for name in create_views(spark, lake, catalog, temporary=False):
        print(f"view {name}")
    # the medallion job runs the gold pipeline next: stop here, naming what is missing
    needs.check(catalog, needs.held_columns(spark, lake, catalog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
