"""Throughput and scale: synthetic corpora, parallel and Spark extraction, Parquet
hand-off to the store, and queries for large stores.

Nothing here re-implements a pipeline stage: documents are read, cleaned and extracted
by ``allegiance.ingest`` / ``allegiance.clean`` / ``allegiance.extract`` and stored by
``allegiance.store.Store.add_extraction``."""
