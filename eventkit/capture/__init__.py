"""Capture: the canonical event, the native wire schema, validation, limits, clock skew."""
