"""The terminal dashboard (``eventkit dashboard``): a Textual app over the same domain
services as the CLI (docs/dashboard.md)."""
