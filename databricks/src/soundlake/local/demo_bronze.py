"""Bronze files exactly as the contract describes, written with pyarrow.

Used by the tests (small hand-made slices) and to seed a demo bronze when the TypeScript
ingestion is not at hand:  python -m soundlake.local.demo_bronze --out DIR [--azurite]
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from soundlake.bronze import BronzeTable, parquet_type_of_spark

UTC = dt.timezone.utc


def arrow_type(spark_type: str) -> pa.DataType:
    t = spark_type.strip().lower()
    if t.startswith("decimal("):
        p, s = t[len("decimal("):-1].split(",")
        return pa.decimal128(int(p), int(s))
    return {
        "int": pa.int32(), "smallint": pa.int16(), "bigint": pa.int64(), "string": pa.string(),
        "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"), "boolean": pa.bool_(),
        "double": pa.float64(), "float": pa.float32(), "binary": pa.binary(),
    }[t]


def parquet_type_name(t: pa.DataType) -> str:
    """The manifest's `parquetType` for an Arrow type, as the TypeScript writer records it."""
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    names = {arrow_type(n): n for n in ("smallint", "int", "bigint", "float", "double", "boolean",
                                         "string", "binary", "date", "timestamp")}
    return parquet_type_of_spark(names[t]) if t in names else str(t)


def arrow_schema(table: BronzeTable, extra: dict[str, pa.DataType] | None = None) -> pa.Schema:
    fields = [pa.field(n, arrow_type(t), nullable=n not in table.keys) for n, t in table.columns]
    fields += [pa.field(n, t) for n, t in (extra or {}).items()]
    return pa.schema(fields)


def data_path(table: str, load_date: str, slice_id: str, part: int) -> str:
    return f"{table}/load_date={load_date}/{table}__{slice_id}__p{part:05d}.parquet"


def write_slice(
    root: str | Path,
    table: BronzeTable,
    rows: list[dict[str, Any]],
    slice_id: str,
    load_date: str,
    kind: str = "incremental",
    max_rows_per_file: int = 100_000,
    extra_columns: dict[str, pa.DataType] | None = None,
    schema: pa.Schema | None = None,
) -> list[str]:
    """Write one committed slice (parts + manifest); returns the data files' relative paths."""
    root = Path(root)
    schema = schema or arrow_schema(table, extra_columns)
    files = []
    parts = [rows[i:i + max_rows_per_file] for i in range(0, len(rows), max_rows_per_file)] or []
    for i, chunk in enumerate(parts):
        rel = data_path(table.name, load_date, slice_id, i)
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        cols = {f.name: [r.get(f.name) for r in chunk] for f in schema}
        pq.write_table(pa.table(cols, schema=schema), out, compression="snappy")
        files.append({"path": rel, "rows": len(chunk), "bytes": out.stat().st_size})
    seq = table.sequence_column
    highs = [r[seq] for r in rows if r.get(seq) is not None]
    manifest = {
        "version": 1, "table": table.name,
        "source": {"kind": "postgres", "schema": "public", "table": table.name},
        "slice": slice_id, "kind": kind, "backfillId": None, "runId": f"r-demo-{slice_id}",
        "loadDate": load_date,
        "watermark": {"column": seq, "kind": "timestamp", "low": None,
                      "high": max(highs).isoformat() if highs else None},
        "rows": len(rows), "bytes": sum(f["bytes"] for f in files), "files": files,
        "columns": [{"name": f.name, "sourceType": str(f.type), "parquetType": parquet_type_name(f.type),
                     "nullable": f.nullable} for f in schema],
        "primaryKey": list(table.keys),
        "plannedAt": f"{load_date}T00:00:00.000Z", "committedAt": f"{load_date}T00:00:01.000Z",
    }
    mpath = root / "_manifests" / table.name / f"{slice_id}.json"
    mpath.parent.mkdir(parents=True, exist_ok=True)
    mpath.write_text(json.dumps(manifest, indent=2))
    return [f["path"] for f in files]


# ---------------------------------------------------------------------------- demo data set
GENRES = ["pop", "rock", "hip-hop", "jazz", "electronic", "folk"]
PLANS = ["free", "premium", "family", "student"]
COUNTRIES = ["SE", "US", "GB", "DE", "BR", "IN", "JP"]
DEVICES = ["mobile", "desktop", "web", "smart_speaker"]
ARTIST_NAMES = ["AC/DC", "Beyoncé!", "The Weeknd", "Sigur Rós", "Guns N' Roses", "P!nk",
                "Earth, Wind & Fire", "Tyler, the Creator", "Daft Punk", "Björk", "Mø",
                "Florence + the Machine", "Ke$ha", "will.i.am", "Nine Inch Nails"]


def demo_isrc(track_id: int) -> str:
    """A demo track's made-up ISRC: the formula of local/demoData.ts (demoIsrc), which the
    Spotify stand-in serves for the demo's tracks (local/sourcesDemo.ts)."""
    return f"XSSLK{(track_id // 100_000) % 100:02d}{track_id % 100_000:05d}"


def _ts(d: dt.date, seconds: int = 0) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=UTC) + dt.timedelta(seconds=seconds)


def demo_passes(seed: int = 7, users: int = 60, tracks: int = 80, streams_per_pass: int = 1500,
                start: dt.date = dt.date(2026, 9, 1)) -> list[tuple[str, dict[str, list[dict]]]]:
    """Three ingestion passes: an initial load, then two passes of changes and new streams."""
    rnd = random.Random(seed)
    t0 = _ts(start)
    artists = [{"artist_id": i + 1, "artist_name": n, "genre": rnd.choice(GENRES),
                "country": rnd.choice(COUNTRIES), "updated_at": t0}
               for i, n in enumerate(ARTIST_NAMES)]
    # even albums are catalogue (released before the streams start); odd ones come out during
    # the 90 days of streams, so the hit model has releases whose first weeks it can watch
    albums = [{"album_id": i + 1, "album_name": f"Album {i + 1}", "artist_id": (i % len(artists)) + 1,
               "release_date": (start - dt.timedelta(days=30 * i)) if i % 2 == 0
               else start + dt.timedelta(days=(i * 37) % 85), "updated_at": t0} for i in range(25)]
    trk = []
    for i in range(tracks):
        al = albums[i % len(albums)]
        # a new album's tracks come out as singles in the weeks before it (every 3 days)
        single = 3 * (i // len(albums)) if al["release_date"] >= start else 0
        trk.append({"track_id": i + 1, "track_name": f"Track {i + 1}", "artist_id": al["artist_id"],
                    "album_id": al["album_id"], "duration_sec": rnd.choice([95, 140, 200, 240, 310, 420, 3]),
                    "release_date": al["release_date"] - dt.timedelta(days=single),
                    "explicit": rnd.random() < 0.2,
                    "danceability": Decimal(f"{rnd.random():.3f}"), "energy": Decimal(f"{rnd.random():.3f}"),
                    "tempo_bpm": Decimal(f"{rnd.uniform(60, 180):.2f}"), "isrc": demo_isrc(i + 1),
                    "updated_at": t0})
    usr = [{"user_id": i + 1, "user_name": f"user_{i + 1}", "country": rnd.choice(COUNTRIES),
            "subscription_type": rnd.choice(PLANS), "signup_date": start - dt.timedelta(days=rnd.randint(1, 900)),
            "updated_at": t0} for i in range(users)]
    next_stream = [1]
    # a track is streamed only once released, and danceable tracks more often (a planted signal)
    by_release = sorted(trk, key=lambda t: (t["release_date"], t["track_id"]))
    released_on = [t["release_date"] for t in by_release]
    cum = list(itertools.accumulate(1.0 + 3.0 * float(t["danceability"]) for t in by_release))

    def streams(day0: dt.date, days: int) -> list[dict]:
        out = []
        for _ in range(streams_per_pass):
            at = _ts(day0, rnd.randint(0, days * 86400 - 1))
            k = max(1, bisect.bisect_right(released_on, at.date()))
            t = rnd.choices(by_release[:k], cum_weights=cum[:k])[0]
            out.append({"stream_id": next_stream[0], "user_id": rnd.randint(1, users),
                        "track_id": t["track_id"], "streamed_at": at,
                        "ms_played": rnd.randint(1000, t["duration_sec"] * 1000 + 1000),
                        "device_type": rnd.choice(DEVICES), "updated_at": at})
            next_stream[0] += 1
        return out

    passes = [("s0000000001", {"dim_users": list(usr), "dim_artists": list(artists),
                               "dim_albums": list(albums), "dim_tracks": list(trk),
                               "fact_streams": streams(start, 30)})]
    for n, day in ((2, start + dt.timedelta(days=30)), (3, start + dt.timedelta(days=60))):
        at = _ts(day)
        changed_users = [dict(u, subscription_type=rnd.choice([p for p in PLANS if p != u["subscription_type"]]),
                              updated_at=at) for u in rnd.sample(usr, users // 4)]
        changed_artists = [dict(a, genre=rnd.choice([g for g in GENRES if g != a["genre"]]), updated_at=at)
                           for a in rnd.sample(artists, 3)]
        for c in changed_users:
            usr[c["user_id"] - 1] = c
        for c in changed_artists:
            artists[c["artist_id"] - 1] = c
        passes.append((f"s{n:010d}", {"dim_users": changed_users, "dim_artists": changed_artists,
                                      "fact_streams": streams(day, 30)}))
    return passes


def write_demo(root: str | Path, seed: int = 7, catalog=None, **sizes: int) -> list[str]:
    """Write the demo passes as bronze slices of the catalog's five demo tables (their declared
    contracts); `sizes` go to demo_passes (users, tracks, ...)."""
    from soundlake.catalog import load_catalog

    catalog = catalog or load_catalog()
    written = []
    for slice_id, tables in demo_passes(seed, **sizes):
        for name, rows in tables.items():
            load_date = max(r["updated_at"] for r in rows).date().isoformat()
            kind = "initial" if slice_id == "s0000000001" else "incremental"
            written += write_slice(root, catalog.table(name).bronze_table(), rows, slice_id,
                                   load_date, kind=kind, max_rows_per_file=1000)
    return written


def upload(root: str | Path, connection_string: str, container: str) -> int:
    from azure.storage.blob import ContainerClient

    cc = ContainerClient.from_connection_string(connection_string, container)
    if not cc.exists():
        cc.create_container()
    n = 0
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            with p.open("rb") as fh:
                cc.upload_blob(p.relative_to(root).as_posix(), fh, overwrite=True)
            n += 1
    return n


def main(argv: Iterable[str] | None = None) -> None:
    from soundlake.local.mirror import connection_string_from_env

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=".soundlake/demo-bronze", help="folder to write bronze into")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--azurite", action="store_true",
                    help="also upload to the bronze container (AZURE_STORAGE_CONNECTION_STRING)")
    ap.add_argument("--container", default="bronze")
    a = ap.parse_args(list(argv) if argv is not None else None)
    files = write_demo(a.out, a.seed)
    print(f"wrote {len(files)} demo bronze file(s) under {a.out}")
    if a.azurite:
        n = upload(a.out, connection_string_from_env(), a.container)
        print(f"uploaded {n} blob(s) to container {a.container!r}")


if __name__ == "__main__":
    main()
