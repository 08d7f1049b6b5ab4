"""``eventkit db``: schema migrations."""

from __future__ import annotations

import typer

from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption, console, render_one
from eventkit.config import masked
from eventkit.storage.migrate import status, upgrade

__all__ = ["app"]

app = typer.Typer(help="Manage the database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Apply every pending migration."""
    st = state(ctx)
    before = status(st.engine(check_schema=False))
    after = upgrade(st.engine(check_schema=False))
    applied = len(before.pending)
    console.print(
        f"database at {', '.join(after.current) or 'base'}: "
        + (f"applied {applied} migration(s)" if applied else "already up to date"),
        soft_wrap=True,  # one line however many heads: scripts read it
    )


@app.command("status")
def status_cmd(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Show applied and pending migrations."""
    st = state(ctx)
    s = status(st.engine(check_schema=False))
    render_one(
        {
            "database": masked(st.settings)["database_url"],
            "current": list(s.current),
            "heads": list(s.heads),
            "pending": list(s.pending),
            "up_to_date": s.up_to_date,
        },
        fmt,
        title="migrations",
    )
