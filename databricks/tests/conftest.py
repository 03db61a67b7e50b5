"""One SparkSession for the whole suite: Databricks Connect when configured, else local Spark.

Databricks Connect is used only when SOUNDLAKE_TEST_CONNECT=1 and `databricks-connect` is
installed and configured; tests that need the local file system are marked `local_only`
and skipped there. Everywhere else (developers, CI) a local Spark with Delta is started.
"""
from __future__ import annotations

import os

import pytest


def _connect_session():
    if os.environ.get("SOUNDLAKE_TEST_CONNECT") != "1":
        return None
    try:
        from databricks.connect import DatabricksSession  # type: ignore[import-not-found]

        return DatabricksSession.builder.getOrCreate()
    except Exception as e:  # noqa: BLE001 - not installed or not configured: fall back
        print(f"Databricks Connect unavailable ({type(e).__name__}); using local Spark")
        return None


_SESSION = {"connect": False}


@pytest.fixture(scope="session")
def spark():
    s = _connect_session()
    if s is not None:
        _SESSION["connect"] = True
        yield s
        return
    from soundlake.local.spark import local_spark

    s = local_spark("soundlake-tests", extra={"spark.sql.shuffle.partitions": "2",
                                              "spark.default.parallelism": "2"})
    yield s
    s.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "local_only: needs the local file system (not on Connect)")


@pytest.fixture(autouse=True)
def _skip_local_only_on_connect(request):
    if request.node.get_closest_marker("local_only") and _SESSION["connect"]:
        pytest.skip("needs local Spark (file-system lake)")
