"""Tracking plans: the events an app may send and the JSON Schema of their properties,
checked at ingest in warn or enforce mode (docs/tracking_plan.md)."""
