"""The HTTP API (Litestar). Thin controllers over the domain services."""
