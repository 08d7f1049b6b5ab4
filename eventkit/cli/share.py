"""``eventkit share``: read-only links to dashboard pages for people without an account."""

from __future__ import annotations

from typing import Annotated

import typer

from eventkit.accounts.access import SHAREABLE_PAGES
from eventkit.accounts.shares import create_share, list_shares, revoke_share
from eventkit.cli.context import state
from eventkit.cli.flags import cli_actor
from eventkit.cli.members import dashboard_url
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.reports.params import parse_span
from eventkit.timeutil import from_us

__all__ = ["app"]

app = typer.Typer(
    help="Share links: read-only dashboard pages without an account.", no_args_is_help=True
)


def _when(us: int | None) -> str:
    return "" if us is None else from_us(us).isoformat(timespec="minutes")


@app.command("create")
def create(
    ctx: typer.Context,
    pages: Annotated[
        list[str],
        typer.Option(
            "--page", "-p", help="A page to show (repeatable): " + ", ".join(SHAREABLE_PAGES) + "."
        ),
    ],
    expires: Annotated[
        str | None, typer.Option(help="Valid for 24h, 30d, 2w (default: until revoked).")
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Also require a generated password (printed once).")
    ] = False,
    query: Annotated[
        str,
        typer.Option(
            help="The page's parameters, e.g. 'since=90d&interval=week' or 'step=a&step=b'."
        ),
    ] = "",
    label: Annotated[str, typer.Option(help="A note for `share list`.")] = "",
    app_name: AppOption = None,
) -> None:
    """Create a read-only link to pages of one app; the URL is printed once."""
    st = state(ctx)
    engine = st.engine()
    new = create_share(
        engine,
        one_app(engine, app_name).name,
        pages,
        actor=cli_actor(),
        expires_seconds=parse_span(expires) if expires else None,
        password=password,
        query=query,
        label=label,
    )
    info = new.info
    until = f"until {_when(info.expires_at)} UTC" if info.expires_at else "until revoked"
    console.print(
        f"share link {info.prefix} (id {info.id}) to {', '.join(info.pages)} of "
        f"{info.app_name}, {until}; shown once:\n"
        f"  [bold]{dashboard_url(st.settings, f'/share/{new.token}')}[/bold]",
        highlight=False,
        soft_wrap=True,
    )
    if new.password:
        console.print(f"  password (shown once): [bold]{new.password}[/bold]", highlight=False)


@app.command("list")
def list_(
    ctx: typer.Context,
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked links.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Share links, newest first (the URLs themselves are not stored)."""
    rows = [s.to_dict() for s in list_shares(state(ctx).engine(), revoked=revoked)]
    if fmt is Format.table:
        for r in rows:
            r["pages"] = ", ".join(r["pages"])
            for k in ("created_at", "expires_at", "revoked_at", "last_used_at"):
                r[k] = _when(r[k])
    render(rows, fmt, title="share links", empty="no share links: `eventkit share create`")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(help="The link's id or prefix (`share list`).")],
) -> None:
    """Revoke a link: it stops working at once, also in browsers that opened it."""
    info = revoke_share(state(ctx).engine(), ident)
    console.print(f"revoked share link {info.prefix} (id {info.id}) of {info.app_name}")
