"""Every key exactly once: read one integer key column from every bronze Parquet file of a
table folder, sort the keys and compare them with 1..N (the ranged bench's source holds exactly
those keys). Prints one JSON line: files, rows, and whether every key appears exactly once."""
import json
import pathlib
import sys

import numpy as np
import pyarrow.parquet as pq

folder, column, expected = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
files = sorted(p for p in folder.rglob("*.parquet") if not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts))
keys = np.empty(expected + 1, dtype=np.int64)  # one spare slot: more rows than keys is reported, not an overflow
rows = 0
for f in files:
    col = pq.read_table(f, columns=[column]).column(column).to_numpy()
    take = min(len(col), len(keys) - rows)
    keys[rows : rows + take] = col[:take]
    rows += len(col)
ok = rows == expected
if ok:
    keys = keys[:rows]
    keys.sort()  # in place: 300M keys are 2.4 GB, and a sorted copy would double that
    step = 50_000_000
    ok = all(np.array_equal(keys[i : i + step], np.arange(i + 1, min(i + step, rows) + 1, dtype=np.int64)) for i in range(0, rows, step))
print(json.dumps({"files": len(files), "rows": rows, "every_key_once": ok}))
