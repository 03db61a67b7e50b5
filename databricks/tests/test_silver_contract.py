"""A table's column contract: declared, or inferred from bronze's manifests and then held."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from soundlake import lake as lk
from soundlake.catalog import parse_catalog
from soundlake.local.demo_bronze import write_slice
from soundlake.silver import contract
from soundlake.silver.ingest import SilverTablesFailed, run_silver
from soundlake.silver.sources import LocalFileSource

from demo_tables import REPO_CATALOG, table
from test_silver_stream import user

UTC = dt.timezone.utc


def _manifest(slice_id: str, committed: str, columns: list[tuple[str, str]]) -> dict:
    return {"slice": slice_id, "committedAt": committed,
            "columns": [{"name": n, "parquetType": t, "sourceType": "x", "nullable": True} for n, t in columns]}


def test_a_plain_table_takes_the_newest_committed_slice_s_columns():
    old = _manifest("s0000000001", "2026-06-01T00:00:00.000Z", [("id", "INT32"), ("name", "STRING")])
    new = _manifest("s0000000002", "2026-06-02T00:00:00.000Z",
                    [("id", "INT64"), ("name", "STRING"), ("price", "DECIMAL(10,2)"), ("at", "TIMESTAMP(MICROS,UTC)")])
    columns, where = contract.infer_from_manifests("dim_x", [new, old])
    assert columns == [("id", "bigint"), ("name", "string"), ("price", "decimal(10,2)"), ("at", "timestamp")]
    assert where == "_manifests/dim_x/s0000000002.json"
    with pytest.raises(contract.ContractError, match=r"dim_x: _manifests/dim_x/s0000000003.json: column 'v'"):
        contract.infer_from_manifests("dim_x", [_manifest("s0000000003", "2026-06-03", [("v", "INT96")])])


def test_a_declared_contract_may_add_columns_but_not_drop_or_retype_them():
    entry = parse_catalog(REPO_CATALOG.read_text()).table("dim_users")
    held = list(entry.columns)
    contract.check_change(entry, held[:-1])  # the catalog adds a column: fine
    with pytest.raises(contract.ContractError) as e:
        contract.check_change(entry, [*held, ("email", "string")])
    assert str(e.value).startswith("tables[0].silver.columns (dim_users): a contract may gain columns, not lose")
    assert "email (string) is held by silver.users but not in the catalog's columns" in str(e.value)
    retyped = [(c, "bigint" if c == "user_id" else t) for c, t in held]
    with pytest.raises(contract.ContractError, match="user_id is bigint in silver.users, int in the catalog"):
        contract.check_change(entry, retyped)


def _with_email(text: str) -> str:
    return text.replace("        - { name: signup_date, type: date }\n",
                        "        - { name: signup_date, type: date }\n        - { name: email, type: string }\n", 1)


@pytest.mark.local_only
def test_silver_waits_for_a_first_slice_then_a_declared_contract_grows(spark, tmp_path):
    bronze, lake = tmp_path / "bronze", lk.PathLake(str(tmp_path / "lake"))
    src = LocalFileSource(str(bronze))
    catalog = parse_catalog(REPO_CATALOG.read_text())

    # nothing committed yet: nothing to read, nothing created, and said so
    said = []
    stats = run_silver(spark, lake, src, [catalog.table("dim_users")], said.append)
    assert stats["dim_users"].skipped and "no committed bronze slice yet" in said[0]
    assert not lk.exists(spark, lake, "silver", "users")

    write_slice(bronze, table("dim_users"), [user(1, "ann", "free", 1)], "s0000000001", "2026-01-01")
    run_silver(spark, lake, src, [catalog.table("dim_users")])
    # the catalog declares one more column; the source has it from the next slice on
    grown = parse_catalog(_with_email(REPO_CATALOG.read_text()))
    write_slice(bronze, table("dim_users"), [{**user(2, "bo", "premium", 2), "email": "bo@x.org"}],
                "s0000000002", "2026-01-02", extra_columns={"email": pa.string()})
    stats = run_silver(spark, lake, src, [grown.table("dim_users")])
    assert (stats["dim_users"].rows, stats["dim_users"].rescued) == (1, 0)
    rows = lk.read(spark, lake, "silver", "users").orderBy("user_id").collect()
    assert [(r.user_id, r.user_name, r.email) for r in rows] == [(1, "ANN", None), (2, "BO", "bo@x.org")]
    assert "email" in lk.read(spark, lake, "silver", "users_changes").columns

    # going back (dropping the column again) is refused before anything is read or written
    version = len(list((tmp_path / "lake" / "silver" / "users" / "_delta_log").glob("*.json")))
    with pytest.raises(SilverTablesFailed, match="dim_users: ContractError: .*email \\(string\\) is held by silver.users") as e:
        run_silver(spark, lake, src, [catalog.table("dim_users")])
    assert isinstance(e.value.failures["dim_users"], contract.ContractError)
    assert len(list((tmp_path / "lake" / "silver" / "users" / "_delta_log").glob("*.json"))) == version
