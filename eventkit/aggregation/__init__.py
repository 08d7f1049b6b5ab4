"""Background aggregation: incremental rollups that keep reports fast (docs/reports.md)."""

from eventkit.aggregation.rollups import RunResult, aggregate, rebuild, watermark

__all__ = ["RunResult", "aggregate", "rebuild", "watermark"]
