"""One dlt initial load of a Postgres table into local Parquet files, for `npm run bench`.

Usage: dlt_load.py BACKEND URL SCHEMA TABLE OUT_DIR
BACKEND is a dlt sql_database backend ("connectorx", "pyarrow"), each with dlt's defaults.
Prints one JSON line: rows loaded and the files written.
"""

import json
import os
import sys
import time

started = time.perf_counter()
backend, url, schema, table, out_dir = sys.argv[1:6]
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
os.environ.setdefault("DLT_DATA_DIR", os.path.join(out_dir, "_dlt"))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
from dlt.sources.sql_database import sql_table  # noqa: E402

source = sql_table(credentials=url, schema=schema, table=table, backend=backend)
pipeline = dlt.pipeline(
    pipeline_name=f"bench_{backend}",
    pipelines_dir=os.path.join(out_dir, "_pipelines"),
    destination=dlt.destinations.filesystem(bucket_url=f"file://{os.path.abspath(out_dir)}/lake"),
    dataset_name="bronze",
)
info = pipeline.run(source, loader_file_format="parquet")
rows = pipeline.last_trace.last_normalize_info.row_counts.get(table, 0)
files = []
for root, _, names in os.walk(os.path.join(out_dir, "lake")):
    files.extend(os.path.join(root, n) for n in names if n.endswith(".parquet"))
print(json.dumps({"rows": rows, "files": len(files), "bytes": sum(os.path.getsize(f) for f in files), "seconds": time.perf_counter() - started}))
