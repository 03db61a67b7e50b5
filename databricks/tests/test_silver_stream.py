"""Silver's Auto Loader stand-in: files arriving in batches, rescue, reruns, backfills."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest

from soundlake import lake as lk
from soundlake.local.demo_bronze import write_slice
from soundlake.silver.ingest import changes_name, run_table
from soundlake.silver.sources import AutoLoaderSource, LocalFileSource, conform

from demo_tables import table

UTC = dt.timezone.utc
USERS = table("dim_users")
STREAMS = table("fact_streams")


def ts(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, tzinfo=UTC)


def user(uid: int, name: str, plan: str, day: int) -> dict:
    return {"user_id": uid, "user_name": name, "country": "SE", "subscription_type": plan,
            "signup_date": dt.date(2025, 1, 1), "updated_at": ts(day)}


def silver_users(spark, lake) -> list[tuple]:
    rows = lk.read(spark, lake, "silver", "users").orderBy("user_id").collect()
    return [(r.user_id, r.user_name, r.subscription_type, r.updated_at.day) for r in rows]


@pytest.mark.local_only
def test_files_in_batches_rescue_reruns_and_backfills(spark, tmp_path):
    bronze, lake = tmp_path / "bronze", lk.PathLake(str(tmp_path / "lake"))
    src = LocalFileSource(str(bronze))

    # 1. initial load in two parts
    write_slice(bronze, USERS, [user(1, "alice", "free", 1), user(2, "bob", "premium", 1),
                                user(3, "cy", "free", 1)], "s0000000001", "2026-01-01",
                kind="initial", max_rows_per_file=2)
    s = run_table(spark, lake, src, USERS)
    assert (len(s.files), s.rows, s.rescued) == (2, 3, 0)
    # the counts are the run's rows of the ingest log, one per micro-batch
    log = lk.read(spark, lake, "silver", "users_ingest_log").where(f"run_id = '{s.run_id}'").collect()
    assert len(log) == s.batches >= 1 and sum(r.rows for r in log) == 3
    assert silver_users(spark, lake) == [(1, "ALICE", "free", 1), (2, "BOB", "premium", 1),
                                         (3, "CY", "free", 1)]

    # 2. an update, a new user, and a file with a column the contract does not know
    write_slice(bronze, USERS, [user(1, "alice", "premium", 2), user(4, "dee", "student", 2)],
                "s0000000002", "2026-01-02")
    extra = write_slice(bronze, USERS, [{**user(2, "bob", "family", 3), "mood": "happy"}],
                        "s0000000003", "2026-01-03", extra_columns={"mood": pa.string()})
    s = run_table(spark, lake, src, USERS)
    assert (len(s.files), s.rows, s.rescued) == (2, 3, 1)
    assert silver_users(spark, lake) == [(1, "ALICE", "premium", 2), (2, "BOB", "family", 3),
                                         (3, "CY", "free", 1), (4, "DEE", "student", 2)]
    assert "_rescued_data" not in lk.read(spark, lake, "silver", "users").columns
    [r] = lk.read(spark, lake, "silver", "users_rescued").collect()
    payload = json.loads(r.rescued_data)
    assert (r.table_name, r.record_key, payload["mood"]) == ("dim_users", '{"user_id":2}', "happy")
    assert payload["_file_path"].endswith(extra[0]) and r.source_file.endswith(extra[0])

    # 3. rerun with nothing new: no file processed twice, nothing changes
    before = lk.read(spark, lake, "silver", changes_name(USERS)).count()
    s = run_table(spark, lake, src, USERS)
    assert (len(s.files), s.rows, s.batches) == (0, 0, 0)
    assert lk.read(spark, lake, "silver", changes_name(USERS)).count() == before == 6

    # 4. a backfill re-delivers old versions (one already seen, one never seen)
    write_slice(bronze, USERS, [user(1, "alice", "free", 1), user(3, "cy", "student", 1)],
                "b7-c0001", "2026-01-04", kind="backfill")
    # ... and an ingestion rerun rewrites a committed file under the same name, same rows
    write_slice(bronze, USERS, [user(1, "alice", "premium", 2), user(4, "dee", "student", 2)],
                "s0000000002", "2026-01-02")
    s = run_table(spark, lake, src, USERS)
    assert len(s.files) == 1 and s.rows == 2
    # cy: 'free' and 'student' share updated_at day 1; the greater values win, whatever arrived first
    assert silver_users(spark, lake) == [(1, "ALICE", "premium", 2), (2, "BOB", "family", 3),
                                         (3, "CY", "student", 1), (4, "DEE", "student", 2)]
    ch = lk.read(spark, lake, "silver", changes_name(USERS))
    assert ch.count() == 7  # only cy/student is a new distinct version
    assert ch.groupBy("user_id", "updated_at", "_row_hash").count().where("count > 1").count() == 0


@pytest.mark.local_only
def test_streams_deduplicate_by_key_keeping_latest(spark, tmp_path):
    bronze, lake = tmp_path / "bronze", lk.PathLake(str(tmp_path / "lake"))

    def stream(sid: int, ms: int, day: int) -> dict:
        return {"stream_id": sid, "user_id": 1, "track_id": 1, "streamed_at": ts(1),
                "ms_played": ms, "device_type": "web", "updated_at": ts(day)}

    src = LocalFileSource(str(bronze))
    # within one micro-batch
    write_slice(bronze, STREAMS, [stream(1, 100, 1), stream(2, 200, 1)], "s0000000001", "2026-01-01")
    write_slice(bronze, STREAMS, [stream(1, 150, 2), stream(2, 999, 1)], "s0000000002", "2026-01-02")
    run_table(spark, lake, src, STREAMS)
    rows = lk.read(spark, lake, "silver", "streams").orderBy("stream_id").collect()
    assert [(r.stream_id, r.ms_played) for r in rows] == [(1, 150), (2, 999)]
    # across micro-batches: an older version arriving later changes nothing
    write_slice(bronze, STREAMS, [stream(1, 50, 1)], "b1-c0000", "2026-01-03", kind="backfill")
    run_table(spark, lake, src, STREAMS)
    rows = lk.read(spark, lake, "silver", "streams").orderBy("stream_id").collect()
    assert [(r.stream_id, r.ms_played) for r in rows] == [(1, 150), (2, 999)]


def test_conform_rescues_unknown_columns_and_whole_columns_of_another_type(spark):
    """Auto Loader's rule for Parquet: the reader reads each column as the given type; where a
    file's column has a type that cannot be read as it, the column goes to `_rescued_data`
    (with its original values), not value by value through a cast."""
    from pyspark.sql import functions as F

    raw = spark.createDataFrame(
        [("1", "ann", "SE", "free", None, None, "blue"), ("x", "bo", None, None, None, None, None),
         (None, "cy", None, None, None, None, None)],
        "user_id string, user_name string, country string, subscription_type string, "
        "signup_date date, updated_at timestamp, color string")
    out = conform(raw, USERS.schema, F.lit("f.parquet"))
    rows = out.orderBy("user_name").collect()
    assert out.schema["user_id"].dataType.simpleString() == "int"
    # "1" would cast to 1, but the column is a string in this file: the whole column is rescued
    assert [(r.user_id, r.user_name) for r in rows] == [(None, "ann"), (None, "bo"), (None, "cy")]
    assert json.loads(rows[0]._rescued_data) == {"user_id": "1", "color": "blue", "_file_path": "f.parquet"}
    assert json.loads(rows[1]._rescued_data) == {"user_id": "x", "_file_path": "f.parquet"}
    assert rows[2]._rescued_data is None  # nothing unexpected in that row: nothing to rescue
    assert rows[0]._source_file == "f.parquet"


TRACKS = table("dim_tracks")


def _track(tid: int, **over) -> dict:
    return {"track_id": tid, "track_name": f"t{tid}", "artist_id": 1, "album_id": 1,
            "duration_sec": 200, "release_date": dt.date(2020, 1, 1), "explicit": False,
            "danceability": Decimal("0.500"), "energy": Decimal("0.250"),
            "tempo_bpm": Decimal("120.00"), "updated_at": ts(1), **over}


def _tracks_schema(**types: pa.DataType) -> pa.Schema:
    from soundlake.local.demo_bronze import arrow_schema

    base = arrow_schema(TRACKS)
    return pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in base])


@pytest.mark.local_only
def test_values_that_do_not_fit_the_contract_decimal_are_rescued_not_rounded(spark, tmp_path):
    """0.1234 into decimal(4,3) would round to 0.123: the column goes to _rescued_data
    instead, whole and exact, as Auto Loader does; lossless widenings are read."""
    bronze, lake = tmp_path / "bronze", lk.PathLake(str(tmp_path / "lake"))
    src = LocalFileSource(str(bronze))
    # a double and a decimal(5,4) where the contract says decimal(4,3)
    bad = write_slice(bronze, TRACKS, [_track(1, danceability=0.1234, energy=Decimal("0.1234"))],
                      "s0000000001", "2026-01-01",
                      schema=_tracks_schema(danceability=pa.float64(), energy=pa.decimal128(5, 4)))
    # decimal(3,2) -> decimal(4,3) and decimal(5,2) -> decimal(6,2) lose nothing: read as is
    write_slice(bronze, TRACKS, [_track(2, danceability=Decimal("0.12"), tempo_bpm=Decimal("98.50"))],
                "s0000000002", "2026-01-02",
                schema=_tracks_schema(danceability=pa.decimal128(3, 2), tempo_bpm=pa.decimal128(5, 2)))
    s = run_table(spark, lake, src, TRACKS)
    assert (len(s.files), s.rows, s.rescued) == (2, 2, 1)
    t1, t2 = lk.read(spark, lake, "silver", "tracks").orderBy("track_id").collect()
    assert (t1.danceability, t1.energy, t1.tempo_bpm) == (None, None, Decimal("120.00"))
    assert (t2.danceability, t2.energy, t2.tempo_bpm) == (Decimal("0.120"), Decimal("0.250"), Decimal("98.50"))
    [r] = lk.read(spark, lake, "silver", "tracks_rescued").collect()
    payload = json.loads(r.rescued_data, parse_float=Decimal)
    assert (payload["danceability"], payload["energy"]) == (Decimal("0.1234"), Decimal("0.1234"))
    assert payload["_file_path"].endswith(bad[0]) and r.record_key == '{"track_id":1}'


@pytest.mark.parametrize("file_type, contract, read", [
    (pa.int32(), "int", True), (pa.int16(), "int", True), (pa.int32(), "bigint", True),
    (pa.int32(), "double", True), (pa.float32(), "double", True),
    (pa.decimal128(3, 2), "decimal(4,3)", True), (pa.decimal128(5, 2), "decimal(6,2)", True),
    (pa.timestamp("us"), "timestamp", True),
    (pa.int64(), "int", False), (pa.int64(), "double", False), (pa.float64(), "float", False),
    (pa.float64(), "decimal(4,3)", False), (pa.decimal128(5, 4), "decimal(4,3)", False),
    (pa.decimal128(4, 3), "decimal(6,2)", False), (pa.string(), "int", False),
    (pa.date32(), "timestamp", False), (pa.int32(), "string", False),
])
def test_the_stand_in_reads_exactly_what_the_parquet_reader_reads(spark, tmp_path, file_type, contract, read):
    """The widenings the stand-in accepts are the ones Spark's Parquet reader performs when told
    the contract type (so nothing is read locally that the reader would refuse), and none that
    lose a value; every other pair is rescued."""
    import pyarrow.parquet as pq
    from soundlake.bronze import spark_type
    from soundlake.silver.sources import reads_as

    values = {"int32": 7, "int16": 7, "int64": 7, "float": 0.5, "double": 0.5, "string": "7",
              "date32[day]": dt.date(2026, 1, 1), "timestamp[us]": dt.datetime(2026, 1, 1)}
    v = values.get(str(file_type), Decimal("0.12"))
    f = tmp_path / "c.parquet"
    pq.write_table(pa.table({"c": pa.array([v], file_type)}), f)
    physical = spark.read.parquet(str(f)).schema["c"].dataType
    assert reads_as(physical, spark_type(contract)) is read
    if read:  # the real reader agrees, value for value
        got = spark.read.schema(f"c {contract}").parquet(str(f)).first().c
        assert got == v


def test_columns_missing_from_a_file_arrive_as_nulls(spark):
    from pyspark.sql import functions as F

    raw = spark.createDataFrame([(1, "ann")], "user_id int, user_name string")
    r = conform(raw, USERS.schema, F.lit("f")).first()
    assert (r.user_id, r.user_name, r.country, r._rescued_data) == (1, "ann", None, None)


class _Recorder:
    """Stands in for spark.readStream to check how Auto Loader is configured."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args))
            return self
        return call


def test_auto_loader_is_configured_for_parquet_rescue_and_schema_tracking():
    rec = _Recorder()

    class FakeSpark:
        readStream = rec

    AutoLoaderSource("abfss://bronze@acct.dfs.core.windows.net/", "/Volumes/c/silver/checkpoints/_schemas"
                     ).stream(FakeSpark(), USERS)
    opts = {a[0]: a[1] for n, a in rec.calls if n == "option"}
    assert ("format", ("cloudFiles",)) in rec.calls
    assert opts["cloudFiles.format"] == "parquet"
    assert opts["cloudFiles.schemaEvolutionMode"] == "rescue"
    assert opts["rescuedDataColumn"] == "_rescued_data"
    assert opts["cloudFiles.schemaLocation"] == "/Volumes/c/silver/checkpoints/_schemas/dim_users"
    # bronze folders are load_date=YYYY-MM-DD: no partition column may be inferred from them
    assert opts["cloudFiles.partitionColumns"] == ""
    assert ("load", ("abfss://bronze@acct.dfs.core.windows.net/dim_users/",)) in rec.calls
    assert [a for n, a in rec.calls if n == "schema"] == [(USERS.schema,)]


@pytest.mark.local_only
def test_a_file_from_the_typescript_writer_reads_exactly(spark, tmp_path):
    """fixtures/ts-writer-bronze holds a dim_tracks part written by shared/bronze/ParquetPartWriter
    (soundlake's own Parquet writer, Snappy): the other side of the contract, read by the stand-in
    and silver. `npm run test:py` rewrites it first (tests/support/writeTsWriterFixture.ts)."""
    import shutil
    from decimal import Decimal
    from pathlib import Path

    bronze = tmp_path / "bronze"
    shutil.copytree(Path(__file__).parent / "fixtures" / "ts-writer-bronze", bronze)
    lake = lk.PathLake(str(tmp_path / "lake"))
    s = run_table(spark, lake, LocalFileSource(str(bronze)), TRACKS)
    assert (len(s.files), s.rows, s.rescued) == (1, 3, 0)
    rows = lk.read(spark, lake, "silver", "tracks").orderBy("track_id").collect()
    r1, r2, r3 = rows
    assert (r1.track_name, r1.duration_sec, r1.duration_flag, r1.release_date, r1.explicit) == (
        "Bohemian Rhapsody", 354, "long", dt.date(1975, 10, 31), False)
    assert (r1.danceability, r1.energy, r1.tempo_bpm) == (Decimal("0.414"), Decimal("0.404"), Decimal("71.67"))
    assert r1.updated_at == dt.datetime(2026, 11, 25, 8, 46, 59, 123123)  # microseconds kept
    assert (r2.track_name, r2.duration_flag, r2.release_date, r2.tempo_bpm) == (
        "Ünïcødé ✓", "short", dt.date(2020, 2, 29), Decimal("120.00"))
    assert (r3.track_name, r3.duration_flag, r3.updated_at) == (None, None, dt.datetime(1999, 12, 31, 23, 59, 59, 999123))


@pytest.mark.local_only
def test_postgres_infinities_from_the_typescript_writer_read_exactly(spark, tmp_path):
    """fixtures/ts-writer-bronze also holds a dim_users part whose dates and timestamps are
    Postgres infinities as the TypeScript codecs write them (docs/bronze-layout.md): the
    extremes of the column's integer. Spark reads them exactly, whatever the session's
    datetimeRebaseModeInRead (EXCEPTION was the default before Spark 4), and silver keeps them."""
    import shutil
    from pathlib import Path

    bronze = tmp_path / "bronze"
    shutil.copytree(Path(__file__).parent / "fixtures" / "ts-writer-bronze", bronze)
    lake = lk.PathLake(str(tmp_path / "lake"))
    key = "spark.sql.parquet.datetimeRebaseModeInRead"
    saved = spark.conf.get(key)
    spark.conf.set(key, "EXCEPTION")
    try:
        s = run_table(spark, lake, LocalFileSource(str(bronze)), USERS)
    finally:
        spark.conf.set(key, saved)
    assert (len(s.files), s.rows, s.rescued) == (1, 4, 0)
    # Python's datetime cannot hold these instants: compare the integers Spark stores.
    def micros(t: dt.datetime) -> int:
        return int(t.timestamp()) * 1_000_000

    got = (lk.read(spark, lake, "silver", "users")
           .selectExpr("user_id", "unix_date(signup_date) AS d", "unix_micros(updated_at) AS t")
           .orderBy("user_id").collect())
    assert [tuple(r) for r in got] == [
        (1, 2**31 - 1, micros(dt.datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC))),
        (2, -(2**31), micros(dt.datetime(2026, 11, 25, 8, 0, 1, tzinfo=UTC))),
        (3, -719162, -(2**63)),
        (4, (dt.date(2026, 11, 25) - dt.date(1970, 1, 1)).days, 2**63 - 1),
    ]
