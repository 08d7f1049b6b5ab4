"""``eventkit tokens``: scoped API tokens for scripts (docs/security.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.timeutil import from_us
from eventkit.tokens.scopes import TOKEN_SCOPES
from eventkit.tokens.store import TokenInfo, create_token, list_tokens, revoke_token

__all__ = ["app"]

app = typer.Typer(help="Scoped API tokens for scripts: create, list, revoke.", no_args_is_help=True)


def _when(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat(timespec="seconds")


def _row(t: TokenInfo) -> dict[str, Any]:
    return {
        "name": t.name,
        "app": t.app,
        "prefix": t.prefix,
        "scopes": ",".join(t.scopes),
        "status": t.status(),
        "created_at": _when(t.created_at),
        "expires_at": _when(t.expires_at) or "never",
        "last_used_at": _when(t.last_used_at) or "never",
        "revoked_at": _when(t.revoked_at),
    }


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name to find the token by, e.g. ci-reports.")],
    scope: Annotated[
        str,
        typer.Option("--scope", "-s", help=f"Comma-separated scopes: {', '.join(TOKEN_SCOPES)}."),
    ],
    expires: Annotated[
        str | None, typer.Option(help="Expire after 12h, 90d, 2w or 1y (default: never).")
    ] = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Issue a token with the given scopes. It is shown once: store it now."""
    engine = state(ctx).engine()
    new = create_token(engine, one_app(engine, app_name).name, name, scope, expires=expires)
    row = {**_row(new.info), "token": new.token}
    if fmt is not Format.table:
        render_one(row, fmt)
        return
    console.print(
        f"\n[bold green]Token '{new.info.name}'[/bold green] for app '{new.info.app}' "
        "— shown once; store it now.\n"
        f"  token:    [bold]{new.token}[/bold]\n"
        f"  scopes:   {row['scopes']}\n"
        f"  expires:  {row['expires_at']}\n"
        "  use it as 'Authorization: Bearer <token>'.\n",
        highlight=False,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    app_name: AppOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """The app's tokens with their scopes, expiry and last use (never the token)."""
    engine = state(ctx).engine()
    app = one_app(engine, app_name).name
    tokens = list_tokens(engine, app, include_revoked=all_)
    render([_row(t) for t in tokens], fmt, title=f"tokens of {app}", empty="no tokens")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The token's name (or its prefix).")],
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Revoke a token; running servers refuse it within 30 s."""
    engine = state(ctx).engine()
    info = revoke_token(engine, one_app(engine, app_name).name, name)
    if fmt is not Format.table:
        render_one(_row(info), fmt)
        return
    console.print(f"revoked token [bold]{info.name}[/bold] ({info.prefix}) of app {info.app}")
