"""Privacy: client IP policy, property scrubbing, tombstones, erasure and access
requests, and retention (docs/privacy.md)."""
