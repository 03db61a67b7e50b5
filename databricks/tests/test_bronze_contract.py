import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from soundlake import bronze
from soundlake.local.demo_bronze import write_slice

from demo_tables import table


def test_data_paths_are_parsed_and_bookkeeping_is_not_data():
    f = bronze.parse_data_path("dim_users/load_date=2026-11-25/dim_users__s0000000003__p00001.parquet")
    assert f == bronze.DataFile("dim_users", "2026-11-25", "s0000000003", 1) and not f.is_backfill
    b = bronze.parse_data_path("abfss://bronze@a.dfs.core.windows.net/fact_streams/load_date=2026-01-02/"
                               "fact_streams__b42-c0007__p00000.parquet")
    assert b is not None and b.is_backfill and b.slice == "b42-c0007"
    # A key range of an initial load writes its parts under the slice's name and its range's.
    r = bronze.parse_data_path("fact_streams/load_date=2026-11-25/fact_streams__s0000000001-r0003__p00002.parquet")
    assert r == bronze.DataFile("fact_streams", "2026-11-25", "s0000000001-r0003", 2) and not r.is_backfill
    assert bronze.parse_data_path("_manifests/dim_users/s0000000003.json") is None
    assert bronze.parse_data_path("_backfills/dim_users/load_date=2026-01-01/dim_users__s0000000001__p00000.parquet") is None
    assert bronze.parse_data_path("dim_users/load_date=2026-11-25/other__s0000000003__p00000.parquet") is None


def test_table_schemas_match_the_contract():
    t = table("dim_tracks")
    assert t.ddl.startswith("track_id int, track_name string")
    assert t.schema["danceability"].dataType.simpleString() == "decimal(4,3)"
    assert t.schema["updated_at"].dataType.simpleString() == "timestamp"
    assert table("fact_streams").schema["stream_id"].dataType.simpleString() == "bigint"
    with pytest.raises(ValueError, match="not a column"):
        bronze.BronzeTable("x", "x", ("id",), (("other", "int"),))


@pytest.mark.parametrize("parquet, spark", [
    ("INT32", "int"), ("INT32(INT_16)", "smallint"), ("INT64", "bigint"), ("FLOAT", "float"),
    ("DOUBLE", "double"), ("BOOLEAN", "boolean"), ("STRING", "string"), ("BINARY", "binary"),
    ("DATE", "date"), ("TIMESTAMP(MICROS,UTC)", "timestamp"), ("DECIMAL(6,2)", "decimal(6,2)"),
    ("DECIMAL(38,0)", "decimal(38,0)"),
])
def test_manifest_parquet_types_map_to_one_spark_type_each_way(parquet, spark):
    """The names shared/source/parquetTypes.ts writes into manifests (describeParquetType)."""
    assert bronze.spark_type_of_parquet(parquet) == spark
    assert bronze.parquet_type_of_spark(spark) == parquet


def test_the_mapping_covers_every_name_the_typescript_writer_records():
    ts = (Path(__file__).resolve().parents[2] / "shared" / "source" / "parquetTypes.ts").read_text()
    block = ts[ts.index("export function describeParquetType"):]
    written = set(re.findall(r"'([A-Z0-9_(),]+)'", block)) - {"DECIMAL"}
    assert written and written <= set(bronze.PARQUET_TO_SPARK), written - set(bronze.PARQUET_TO_SPARK)
    with pytest.raises(ValueError, match="INT96"):
        bronze.spark_type_of_parquet("INT96")


def test_test_writer_follows_the_contract(tmp_path):
    """The files the tests feed silver are what the TypeScript writer produces."""
    import datetime as dt
    from decimal import Decimal

    t = table("dim_tracks")
    row = dict(track_id=1, track_name="x", artist_id=1, album_id=1, duration_sec=100,
               release_date=dt.date(2020, 1, 1), explicit=False, danceability=Decimal("0.500"),
               energy=Decimal("0.250"), tempo_bpm=Decimal("120.00"),
               updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    [rel] = write_slice(tmp_path, t, [row], "s0000000001", "2026-01-01", kind="initial")
    assert rel == "dim_tracks/load_date=2026-01-01/dim_tracks__s0000000001__p00000.parquet"
    md = pq.ParquetFile(tmp_path / rel).metadata
    col = {md.schema.column(i).name: md.schema.column(i) for i in range(md.num_columns)}
    assert md.row_group(0).column(0).compression == "SNAPPY"
    assert col["updated_at"].physical_type == "INT64"
    ts = col["updated_at"].logical_type.to_json()
    assert '"timeUnit": "microseconds"' in ts and '"isAdjustedToUTC": true' in ts
    assert col["danceability"].logical_type.to_json() == '{"Type": "Decimal", "precision": 4, "scale": 3}'
    assert col["release_date"].logical_type.to_json() == '{"Type": "Date"}'
    m = bronze.read_manifest((tmp_path / "_manifests/dim_tracks/s0000000001.json").read_text())
    assert m["rows"] == 1 and m["files"][0]["path"] == rel and m["primaryKey"] == ["track_id"]
    types = {c["name"]: c["parquetType"] for c in m["columns"]}
    assert (types["danceability"], types["updated_at"], types["track_id"]) == (
        "DECIMAL(4,3)", "TIMESTAMP(MICROS,UTC)", "INT32")
    assert bronze.manifest_rows([m, m]) == {"dim_tracks": 2}
    with pytest.raises(ValueError, match="version"):
        bronze.read_manifest(json.dumps({**m, "version": 2}))
