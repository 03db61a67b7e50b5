"""Silver over a group of tables in one Spark application: several streams at once land what a
sequential run lands; a table that fails is named at the end while the others land; a rerun
after the fix takes only that table's files."""
from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from soundlake import lake as lk
from soundlake.catalog import parse_catalog
from soundlake.local.demo_bronze import write_slice
from soundlake.silver.ingest import SilverTablesFailed, run_silver
from soundlake.silver.sources import LocalFileSource

from demo_tables import REPO_CATALOG, table
from test_silver_stream import ts, user

CATALOG = parse_catalog(REPO_CATALOG.read_text())
NAMES = ["dim_users", "dim_artists", "dim_albums"]
SILVER = {"dim_users": "users", "dim_artists": "artists", "dim_albums": "albums"}


def _rows(name: str, day: int) -> list[dict]:
    if name == "dim_users":
        return [user(day * 10 + i, f"u{i}", "free", day) for i in range(3)]
    if name == "dim_artists":
        return [{"artist_id": day * 10 + i, "artist_name": f"a{i}!", "genre": "pop", "country": "SE",
                 "updated_at": ts(day)} for i in range(3)]
    return [{"album_id": day * 10 + i, "album_name": f"al{i}", "artist_id": 1,
             "release_date": dt.date(2020, 1, day), "updated_at": ts(day)} for i in range(3)]


def _bronze(root) -> dict[str, list[str]]:
    """Two committed slices per table, two files each; the files' paths by table."""
    files: dict[str, list[str]] = {}
    for name in NAMES:
        for day in (1, 2):
            files.setdefault(name, []).extend(
                write_slice(root, table(name), _rows(name, day), f"s000000000{day}", f"2026-01-0{day}",
                            max_rows_per_file=2))
    return files


def _silver(spark, lake, name: str) -> list[tuple]:
    """Every silver table of `name` as sorted rows, without the run's time stamp."""
    out = []
    for suffix in ("", "_changes", "_rescued"):
        df = lk.read(spark, lake, "silver", SILVER[name] + suffix)
        out.append(sorted(tuple(r) for r in df.drop("_ingested_at", "ingested_at").collect()))
    return out


class Progress:
    """The progress lines, and how many tables were between their start and end line at once."""

    def __init__(self):
        self.lines: list[str] = []
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            if " -> silver." in line:
                self.running += 1
                self.most = max(self.most, self.running)
            elif ": run " in line or ": failed: " in line:
                self.running -= 1


@pytest.mark.local_only
def test_tables_at_once_land_exactly_what_one_at_a_time_lands(spark, tmp_path):
    bronze = tmp_path / "bronze"
    _bronze(bronze)
    src = LocalFileSource(str(bronze))
    entries = [CATALOG.table(n) for n in NAMES]
    one, many = lk.PathLake(str(tmp_path / "one")), lk.PathLake(str(tmp_path / "many"))

    seq = run_silver(spark, one, src, entries, concurrency=1)
    said = Progress()
    par = run_silver(spark, many, src, entries, said, concurrency=3)

    assert said.most >= 2, said.lines  # the streams did run side by side
    assert list(par) == NAMES  # in catalog order, whatever finished first
    for name in NAMES:
        assert (len(par[name].files), par[name].rows) == (len(seq[name].files), seq[name].rows) == (4, 6)
        assert _silver(spark, many, name) == _silver(spark, one, name)
    # one progress line per table when it starts and one when it ends, each naming its table
    assert sorted(l.split(":")[1].split()[0] for l in said.lines) == sorted(NAMES * 2)


@pytest.mark.local_only
def test_a_table_that_fails_is_named_the_others_land_and_a_rerun_takes_only_its_files(spark, tmp_path):
    bronze = tmp_path / "bronze"
    files = _bronze(bronze)
    broken = bronze / files["dim_artists"][1]
    broken.write_bytes(b"not a parquet file")  # one unreadable file in artists' bronze
    src = LocalFileSource(str(bronze))
    lake = lk.PathLake(str(tmp_path / "lake"))
    entries = [CATALOG.table(n) for n in NAMES]

    said = Progress()
    with pytest.raises(SilverTablesFailed) as e:
        run_silver(spark, lake, src, entries, said, concurrency=3)
    assert list(e.value.failures) == ["dim_artists"]
    assert str(e.value).startswith("silver: 1 of 3 table(s) failed")
    # named with the cause inside the streaming query's error, not only "[STREAM_FAILED] ..."
    cause = "dim_artists: StreamingQueryException: pyarrow.lib.ArrowInvalid: Parquet magic bytes not found"
    assert f"\n  - {cause}" in str(e.value)
    [line] = [l for l in said.lines if ": failed: " in l]
    assert re.fullmatch(r"silver: dim_artists: run [0-9a-f]{32}: failed: StreamingQueryException: "
                        r"pyarrow\.lib\.ArrowInvalid: Parquet magic bytes not found.*", line), line
    # the others finished and landed; artists took nothing
    assert {n: s.rows for n, s in e.value.done.items()} == {"dim_users": 6, "dim_albums": 6}
    assert lk.read(spark, lake, "silver", "users").count() == lk.read(spark, lake, "silver", "albums").count() == 6
    assert lk.read(spark, lake, "silver", "artists").count() == 0

    # the file is written again whole (an ingestion rerun of its slice): the next run takes
    # artists' files, and nothing of the tables that landed is taken twice
    write_slice(bronze, table("dim_artists"), _rows("dim_artists", 1), "s0000000001", "2026-01-01",
                max_rows_per_file=2)
    again = run_silver(spark, lake, src, entries, concurrency=3)
    assert {n: (len(s.files), s.rows) for n, s in again.items()} == {
        "dim_users": (0, 0), "dim_artists": (4, 6), "dim_albums": (0, 0)}
    assert sorted(r.artist_name for r in lk.read(spark, lake, "silver", "artists").collect()) == ["a0", "a0", "a1", "a1", "a2", "a2"]
    assert lk.read(spark, lake, "silver", "users_changes").count() == 6


def test_concurrency_below_one_is_refused(spark, tmp_path):
    with pytest.raises(ValueError, match="concurrency: must be at least 1, got 0"):
        run_silver(spark, lk.PathLake(str(tmp_path)), LocalFileSource(str(tmp_path)), [], concurrency=0)
