"""Entry points of the silver job on Databricks (python_wheel_task).

    silver        --catalog C --silver-schema S --bronze-root abfss://... --checkpoint-root /Volumes/C/S/checkpoints [--table T]
    silver-views  --catalog C --silver-schema S

The schema name comes from the bundle (`${resources.schemas.silver.name}`): a development
deployment prefixes it (`dev_<user>_silver`), so it is never assumed to be `silver`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterable


def _session():
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def main(argv: Iterable[str] | None = None) -> int:
    from soundlake.bronze import DEMO_TABLES
    from soundlake.lake import CatalogLake
    from soundlake.silver.ingest import run_silver
    from soundlake.silver.sources import AutoLoaderSource

    ap = argparse.ArgumentParser(prog="silver")
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--silver-schema", required=True)
    ap.add_argument("--bronze-root", required=True)
    ap.add_argument("--checkpoint-root", required=True)
    ap.add_argument("--table", action="append", choices=sorted(DEMO_TABLES),
                    help="bronze table(s) to process (default: all)")
    a = ap.parse_args(list(argv) if argv is not None else None)
    tables = [DEMO_TABLES[t] for t in (a.table or sorted(DEMO_TABLES))]
    lake = CatalogLake(a.catalog, a.checkpoint_root, silver_schema=a.silver_schema)
    source = AutoLoaderSource(a.bronze_root, schema_root=f"{a.checkpoint_root.rstrip('/')}/_schemas")
    run_silver(_session(), lake, source, tables, progress=print)
    return 0


def views(argv: Iterable[str] | None = None) -> int:
    from soundlake.lake import CatalogLake
    from soundlake.silver.views import create_views

    ap = argparse.ArgumentParser(prog="silver-views")
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--silver-schema", required=True)
    a = ap.parse_args(list(argv) if argv is not None else None)
    lake = CatalogLake(a.catalog, "", silver_schema=a.silver_schema)
    for name in create_views(_session(), lake, temporary=False):
        print(f"view {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
