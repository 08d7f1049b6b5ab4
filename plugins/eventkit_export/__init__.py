"""eventkit-export: ``eventkit export --format parquet|csv|ndjson`` (docs/plugins.md).

A bundled plugin that only adds a CLI command, so it is on by default.
"""

from __future__ import annotations

from typing import Any

from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_cli_commands"]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """The ``eventkit export`` command."""
    from eventkit_export.cli import export

    app.command("export")(export)
