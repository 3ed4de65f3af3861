"""Entry point for ``spark-submit`` on a real cluster.

    spark-submit --master yarn --deploy-mode client \\
        allegiance/scale/submit.py hdfs:///news/2024/ /shared/allegiance-parquet/
    allegiance load /shared/allegiance-parquet/ --db allegiance.duckdb

The SparkSession comes from spark-submit (its master, executors and config); every
executor needs the allegiance package and the spaCy model installed (or shipped as a
conda/venv archive with ``--archives``). Extraction is the same pure function as a
local ingest; ``allegiance load`` then resolves actors across documents in one place.
"""
from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    from pyspark.sql import SparkSession

    from allegiance.scale.spark import run_spark_ingest

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="files or folders readable by every executor")
    ap.add_argument("out", help="Parquet output folder")
    args = ap.parse_args(argv)
    spark = SparkSession.builder.appName("allegiance-ingest").getOrCreate()
    stats = run_spark_ingest(args.inputs[:], args.out, spark=spark)
    print(json.dumps(stats, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
