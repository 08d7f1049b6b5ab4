"""Ingest: the pipeline from validated events to durable storage."""
