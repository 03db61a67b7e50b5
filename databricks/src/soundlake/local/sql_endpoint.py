"""The local SQL endpoint: Spark's Thrift server (HiveServer2) over the gold Delta tables.

    .venv/bin/python -m soundlake.local.sql_endpoint [--lake-dir .soundlake/lake] [--port 10009]
    .venv/bin/python -m soundlake.local.sql_endpoint --demo     # no gold yet? build a demo gold first

It listens on 127.0.0.1 only, speaks the HiveServer2 protocol (JDBC `jdbc:hive2://...`, ODBC,
beeline, Power BI's Spark connector, the hive-driver npm package), and registers every gold
table under the name it has in Unity Catalog (`gold.dim_artist`, ...) as an external table over
`<lake-dir>/gold/<name>`, so each query reads the newest Delta version the medallion wrote.

Read-only for its clients: Spark has no read-only switch, so endpoint/ReadOnlyGold.java, a
session extension compiled at start with the JDK's javac, adds a check to Spark's analyzer that
refuses, before anything runs, every command but USE/SHOW/DESCRIBE/SET key (so no DDL, DML,
CACHE, ADD JAR, CREATE FUNCTION, SET key=value), script transformation, reflect()/java_method()
and any relation that is not a gold table (files by path included). Reading files by path is
also off in the configuration (spark.sql.runSQLOnFiles=false), and every statement has a time
limit (spark.sql.thriftServer.queryTimeout). Without a JDK the endpoint still starts, says it is
not read-only, and records that in endpoint.json.

Every statement the server receives is written to <state-dir>/queries.log by the server's own
logger (SparkExecuteStatementOperation), which the tests read to prove that refused SQL never
arrived. <state-dir>/endpoint.json says where the server listens once it is ready.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterable

from soundlake.serving.catalog import SCHEMA, TABLES

QUERY_LOGGER = "org.apache.spark.sql.hive.thriftserver.SparkExecuteStatementOperation"
DELTA_JARS = ("io.delta_delta-spark_4.2_2.13-{v}.jar", "io.delta_delta-storage-{v}.jar")


def delta_jars() -> list[Path]:
    """Delta's jars in Ivy's cache (where delta-spark's pip helper has Spark put them)."""
    from importlib.metadata import version

    v = version("delta-spark")
    ivy = Path(os.environ.get("SPARK_IVY_DIR", Path.home() / ".ivy2.5.2")) / "jars"
    return [ivy / name.format(v=v) for name in DELTA_JARS]


def ensure_delta_jars(say) -> list[Path]:
    """The Thrift server opens sessions on its own threads, which only see the JVM's class
    path, not the jars Spark adds at run time: Delta must be on the driver class path. A
    first run fetches them through a throwaway Spark start."""
    jars = delta_jars()
    if not all(j.exists() for j in jars):
        say("sql-endpoint: fetching the Delta jars (first run)")
        subprocess.run([sys.executable, "-c", "from soundlake.local.spark import local_spark; local_spark('fetch-delta').stop()"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    missing = [str(j) for j in jars if not j.exists()]
    if missing:
        raise RuntimeError(f"Delta jars not found after fetching: {missing}")
    return jars


READ_ONLY_SOURCE = Path(__file__).resolve().parent / "endpoint" / "ReadOnlyGold.java"
READ_ONLY_CLASS = "soundlake.endpoint.ReadOnlyGold"


def compile_read_only(state: Path, say) -> Path | None:
    """Compile the read-only extension against the pyspark jars (cached by source hash)."""
    import hashlib

    import pyspark

    javac = shutil.which("javac")
    if javac is None:
        say("sql-endpoint: WARNING: no javac (a JDK 17 is needed): the endpoint will NOT be read-only")
        return None
    classes = state / "classes"
    stamp = classes / ".source-sha256"
    digest = hashlib.sha256(READ_ONLY_SOURCE.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return classes
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    jars = Path(pyspark.__file__).parent / "jars" / "*"
    done = subprocess.run([javac, "-nowarn", "-d", str(classes), "-cp", str(jars), str(READ_ONLY_SOURCE)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"compiling {READ_ONLY_SOURCE.name} failed:\n{done.stderr}")
    stamp.write_text(digest)
    return classes


def log4j_config(state: Path) -> Path:
    """Spark's log to spark.log; the server's statement log, alone, to queries.log."""
    cfg = state / "log4j2.properties"
    cfg.write_text(f"""\
rootLogger.level = warn
rootLogger.appenderRef.file.ref = spark
appender.spark.type = File
appender.spark.name = spark
appender.spark.fileName = {state / 'spark.log'}
appender.spark.layout.type = PatternLayout
appender.spark.layout.pattern = %d{{ISO8601}} %p %c{{1}}: %m%n%ex
appender.queries.type = File
appender.queries.name = queries
appender.queries.fileName = {state / 'queries.log'}
appender.queries.layout.type = PatternLayout
appender.queries.layout.pattern = %d{{yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}}{{UTC}} %m%n
logger.queries.name = {QUERY_LOGGER}
logger.queries.level = info
logger.queries.additivity = false
logger.queries.appenderRef.queries.ref = queries
""")
    return cfg


def server_conf(state: Path, host: str, port: int, query_timeout: int, jars: list[Path],
                read_only: Path | None) -> dict[str, str]:
    from soundlake.local.spark import LOCAL_CONF

    cfg = log4j_config(state)
    extensions = LOCAL_CONF["spark.sql.extensions"] + (f",{READ_ONLY_CLASS}" if read_only else "")
    return {
        "spark.sql.extensions": extensions,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(state / "warehouse"),
        # A metastore of its own, rebuilt at every start: tables are registered from the lake.
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions":
            f"-Dderby.system.home={state} -Dlog4j2.configurationFile=file:{cfg}",
        "spark.driver.extraClassPath": os.pathsep.join([str(j) for j in jars] + ([str(read_only)] if read_only else [])),
        "spark.hadoop.hive.server2.thrift.bind.host": host,
        "spark.hadoop.hive.server2.thrift.port": str(port),
        "spark.hadoop.hive.server2.transport.mode": "binary",
        "spark.sql.thriftServer.queryTimeout": f"{query_timeout}s",
        "spark.sql.runSQLOnFiles": "false",
    }


def register_gold(spark, lake_dir: Path, say) -> list[str]:
    """`gold.<name>` for every gold table the lake holds, under its Unity Catalog name."""
    from delta.tables import DeltaTable

    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA} COMMENT 'soundlake gold star schema (read-only)'")
    registered = []
    for name, description in TABLES.items():
        path = lake_dir / "gold" / name
        if not DeltaTable.isDeltaTable(spark, str(path)):
            say(f"sql-endpoint: gold.{name}: no Delta table at {path} (skipped)")
            continue
        location = str(path.resolve()).replace("'", "")
        comment = description.replace("'", "")
        spark.sql(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{name} USING delta LOCATION '{location}' COMMENT '{comment}'")
        registered.append(name)
    return registered


def build_demo_gold(spark, lake_dir: Path, start: dt.date, say) -> None:
    from soundlake.local.demo_bronze import write_demo
    from soundlake.local.medallion import run

    bronze = lake_dir / "demo-bronze"
    shutil.rmtree(bronze, ignore_errors=True)
    write_demo(bronze, users=12, tracks=15, streams_per_pass=150, start=start)
    say(f"sql-endpoint: demo bronze from {start} in {bronze}; running the medallion")
    # The medallion addresses its Delta tables by path; only this (root) session may, and only
    # while it builds: the server's sessions start from the configuration, where it is off.
    spark.conf.set("spark.sql.runSQLOnFiles", "true")
    try:
        run(spark, bronze, lake_dir, say)
    finally:
        spark.conf.set("spark.sql.runSQLOnFiles", "false")


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soundlake.local.sql_endpoint", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake-dir", default=os.environ.get("SOUNDLAKE_LAKE_DIR", ".soundlake/lake"))
    ap.add_argument("--state-dir", default=None, help="logs, metastore, endpoint.json (default <lake-dir>/../sql-endpoint)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SQL_ENDPOINT_PORT", "10009")))
    ap.add_argument("--query-timeout", type=int, default=120, help="seconds any statement may run")
    ap.add_argument("--demo", action="store_true", help="build a small demo gold first when the lake has none")
    ap.add_argument("--demo-start", default=None, help="first day of the demo data (default: 92 days ago, so its "
                                                        "three 30-day passes end before today)")
    a = ap.parse_args(list(argv) if argv is not None else None)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print("error: the local SQL endpoint only binds to the loopback address", file=sys.stderr)
        return 2

    t0 = time.monotonic()

    def say(msg: str) -> None:
        print(f"[{time.monotonic() - t0:7.1f}s] {msg}", flush=True)

    lake_dir = Path(a.lake_dir).resolve()
    state = Path(a.state_dir).resolve() if a.state_dir else lake_dir.parent / "sql-endpoint"
    for stale in ("metastore_db", "warehouse", "endpoint.json", "queries.log"):
        p = state / stale
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    state.mkdir(parents=True, exist_ok=True)

    from soundlake.local.spark import local_spark

    jars = ensure_delta_jars(say)
    read_only = compile_read_only(state, say)
    say(f"sql-endpoint: starting Spark (Thrift server on {a.host}:{a.port}); JVM log in {state / 'spark.log'}")
    spark = local_spark("soundlake-sql-endpoint", extra=server_conf(state, a.host, a.port, a.query_timeout, jars, read_only),
                        jvm_log=str(state / "jvm.log"))
    if a.demo and not (lake_dir / "gold" / "fact_stream" / "_delta_log").exists():
        start = dt.date.fromisoformat(a.demo_start) if a.demo_start else dt.date.today() - dt.timedelta(days=92)
        build_demo_gold(spark, lake_dir, start, say)
    tables = register_gold(spark, lake_dir, say)
    if not tables:
        print(f"error: no gold tables under {lake_dir / 'gold'}; run the medallion first "
              "(python -m soundlake.local.medallion) or pass --demo", file=sys.stderr)
        spark.stop()
        return 2
    jvm = spark._jvm
    if read_only:
        jvm.soundlake.endpoint.ReadOnlyGold.arm(SCHEMA)
    jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithSparkSession(spark._jsparkSession, False)
    info = {"host": a.host, "port": a.port, "pid": os.getpid(), "schema": SCHEMA, "tables": tables,
            "jdbcUrl": f"jdbc:hive2://{a.host}:{a.port}/{SCHEMA}", "readOnly": read_only is not None, "queryLog": str(state / "queries.log"),
            "lakeDir": str(lake_dir), "startedAt": dt.datetime.now(dt.timezone.utc).isoformat()}
    tmp = state / "endpoint.json.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(state / "endpoint.json")
    say(f"sql-endpoint: ready: {info['jdbcUrl']} ({len(tables)} gold tables); Ctrl-C stops it")
    say(f"sql-endpoint: try: .venv/bin/beeline -u {info['jdbcUrl']} -e 'SELECT count(*) FROM gold.fact_stream'")

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    say("sql-endpoint: stopping")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
