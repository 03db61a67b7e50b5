"""Entry points of the silver job on Databricks (python_wheel_task).

    silver        --catalog C --silver-schema S --bronze-root abfss://... --checkpoint-root /Volumes/C/S/checkpoints [--table T]
    silver-views  --catalog C --silver-schema S

The schema name comes from the bundle (`${resources.schemas.silver.name}`): a development
deployment prefixes it (`dev_<user>_silver`), so it is never assumed to be `silver`.

The tables are the table catalog's (soundlake.yaml, packaged into the wheel when the bundle
builds it; `--table-catalog PATH` reads another file): the job's for_each runs one `silver`
task per catalog table (its inputs are set from the same file at deploy, resources/
catalog_mutator.py). `silver-views` also checks, before the gold pipeline runs, that the
catalog gives what the views and gold read.
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
    ap.add_argument("--table", action="append", help="table(s) of the table catalog (default: all)")
    ap.add_argument("--table-catalog", help="soundlake.yaml to read (default: the one in the wheel)")
    a = ap.parse_args(list(argv) if argv is not None else None)
    catalog = _table_catalog(a.table_catalog)
    unknown = sorted(set(a.table or ()) - set(catalog.names))
    if unknown:
        ap.error(f"--table {', '.join(unknown)}: not in the table catalog {catalog.file} "
                 f"(it has: {', '.join(catalog.names)})")
    tables = [catalog.table(t) for t in a.table] if a.table else list(catalog.tables)
    lake = CatalogLake(a.catalog, a.checkpoint_root, silver_schema=a.silver_schema)
    source = AutoLoaderSource(a.bronze_root, schema_root=f"{a.checkpoint_root.rstrip('/')}/_schemas")
    run_silver(_session(), lake, source, tables, progress=print)
    return 0


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
