"""Distributed extraction with Apache Spark (optional extra ``allegiance[spark]``).

:func:`run_spark_ingest` lists the inputs on the driver, extracts every document inside
``mapPartitions`` with the same pipeline as ``allegiance ingest``
(:func:`allegiance.scale.process.extract_units`: read, clean, extract; the spaCy model is
loaded once per Python worker and reused across partitions), and writes the
extractions as Parquet (layout: :mod:`allegiance.scale.parquet`). Storing is a separate,
single-writer step: ``allegiance load PARQUET_DIR`` (:func:`load_parquet`), which runs
cross-document actor resolution in ingest order exactly as a single-machine ingest does.

Executors read the files by path, so on a cluster the inputs must be on storage every
executor sees (in local mode they always are)."""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

from allegiance.scale.parquet import TABLES, extraction_rows, load_parquet  # noqa: F401  (re-export)
from allegiance.scale.process import expand_inputs

_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def _spark_types():
    from pyspark.sql import types as T

    return {"BIGINT": T.LongType(), "VARCHAR": T.StringType(), "DOUBLE": T.DoubleType(), "BOOLEAN": T.BooleanType()}


def _schema(table: str):
    from pyspark.sql import types as T

    kinds = _spark_types()
    return T.StructType([T.StructField(c, kinds[t], True) for c, t in TABLES[table]])


def _extract_partition(units, fetch_options=None):
    """mapPartitions body: (ordinal, path | IngestError) -> per-table rows of each item."""
    from allegiance.extract.nlp import load_nlp
    from allegiance.scale.process import extract_units

    load_nlp()  # cached per worker process: loaded once, reused by every partition it runs
    for ordinal, items in extract_units(units, fetch_options=fetch_options):
        for seq, item in enumerate(items):
            yield extraction_rows(ordinal, seq, item)


def spark_session(master: str = "local[2]", app_name: str = "allegiance"):
    """A quiet SparkSession (UI off, driver on 127.0.0.1, workers on this Python)."""
    from pyspark.sql import SparkSession

    log_conf = Path(tempfile.gettempdir()) / "allegiance-spark-log4j2.properties"
    if not log_conf.exists():
        log_conf.write_text(_LOG4J, encoding="utf-8")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java_opts = f"-Dlog4j2.configurationFile=file:{log_conf}"
    # the driver JVM is started by spark-submit: its Java options must be given there
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f'--driver-java-options "{java_opts}" pyspark-shell')
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        .config("spark.pyspark.python", sys.executable)
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark_ingest(inputs: list[str], out_dir: str, master: str = "local[2]", *, spark=None,
                     docs_per_partition: int = 16, fetch_options=None) -> dict:
    """Extract every document under ``inputs`` on Spark and write Parquet to ``out_dir``
    (``documents/ entities/ mentions/ facts/ errors/``, overwritten). Returns counts per
    table plus ``inputs``, ``partitions`` and ``seconds``. Pass ``spark`` to reuse a
    session (it is then left running); otherwise one is started and stopped. URLs are
    fetched on the executors with ``fetch_options`` (an ``allegiance.ingest.web.FetchOptions``;
    default: those of the current ``web.fetching`` batch), sent with every partition."""
    import functools

    from allegiance.scale.process import _driver_fetch_options

    extract_partition = functools.partial(_extract_partition, fetch_options=_driver_fetch_options(fetch_options))
    t0 = time.perf_counter()
    units = [u for u in expand_inputs(inputs)]
    if any(u == "-" for u in units):
        raise ValueError("stdin ('-') cannot be read by Spark executors: save it to a file first")
    own = spark is None
    if own:
        spark = spark_session(master)
    try:
        sc = spark.sparkContext
        n_parts = max(1, min(len(units), max(sc.defaultParallelism, math.ceil(len(units) / docs_per_partition))))
        rdd = sc.parallelize(list(enumerate(units)), n_parts).mapPartitions(extract_partition)
        from pyspark import StorageLevel

        rdd = rdd.persist(StorageLevel.MEMORY_AND_DISK)
        per_table = rdd.map(lambda rec: tuple(len(rec[t]) for t in TABLES)).fold(
            tuple(0 for _ in TABLES), lambda a, b: tuple(x + y for x, y in zip(a, b))
        )  # runs the extraction once; the writes below read the cached rows
        t_extract = time.perf_counter() - t0
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            rows = rdd.flatMap(lambda rec, table=table: rec[table])
            df = spark.createDataFrame(rows, schema=_schema(table))
            df.write.mode("overwrite").parquet(str(out / table))
        counts = dict(zip(TABLES, per_table))
        rdd.unpersist()
        counts.update(
            inputs=len(units), partitions=n_parts, extract_seconds=round(t_extract, 3),
            seconds=round(time.perf_counter() - t0, 3),
        )
        return counts
    finally:
        if own:
            spark.stop()
