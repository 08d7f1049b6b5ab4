"""``eventkit members``: the people who sign in to the web dashboard."""

from __future__ import annotations

from typing import Annotated

import typer

from eventkit.accounts.members import (
    Invite,
    add_member,
    list_members,
    remove_member,
    reset_member,
    update_member,
)
from eventkit.cli.context import state
from eventkit.cli.flags import cli_actor
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.config import Settings
from eventkit.timeutil import from_us

__all__ = ["app", "dashboard_url"]

app = typer.Typer(help="Dashboard members: add, list, change, reset, remove.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Member name (what they sign in with).")]
RoleOpt = Annotated[
    str,
    typer.Option(
        help="viewer reads; editor also changes flags and "
        "experiments; admin also manages members, keys "
        "and share links."
    ),
]
AppsOpt = Annotated[
    list[str] | None,
    typer.Option("--app", "-a", help="Limit to this app (repeatable; default: every app)."),
]
PasswordOpt = Annotated[
    bool,
    typer.Option(
        "--password", help="Print a generated password instead of a one-time sign-in link."
    ),
]


def dashboard_url(settings: Settings, path: str = "/") -> str:
    """The URL of a dashboard path, for links printed by the CLI."""
    base = settings.web.base_path.rstrip("/")
    return f"{settings.url}{base}{path}"


def _when(us: int | None) -> str:
    return "" if us is None else from_us(us).isoformat(timespec="minutes")


def _print_invite(settings: Settings, invite: Invite) -> None:
    m = invite.member
    scope = "every app" if m.all_apps else ", ".join(m.app_names)
    console.print(f"member [bold]{m.name}[/bold]: {m.role} of {scope}", highlight=False)
    if invite.password:
        console.print(
            f"  password (shown once): [bold]{invite.password}[/bold]\n"
            f"  sign in at {dashboard_url(settings, '/login')}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"  one-time sign-in link (shown once, valid until {_when(invite.expires_at)} UTC):\n"
            f"  [bold]{dashboard_url(settings, f'/welcome/{invite.token}')}[/bold]",
            highlight=False,
            soft_wrap=True,
        )


@app.command("add")
def add(
    ctx: typer.Context,
    name: NameArg,
    role: RoleOpt = "viewer",
    apps: AppsOpt = None,
    password: PasswordOpt = False,
) -> None:
    """Add a member and print their one-time sign-in link (or password), once."""
    st = state(ctx)
    invite = add_member(
        st.engine(),
        name,
        role,
        apps or None,
        actor=cli_actor(),
        invite_hours=st.settings.web.invite_hours,
        password=password,
    )
    _print_invite(st.settings, invite)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Members, roles, apps and last sign-in."""
    rows = [m.to_dict() for m in list_members(state(ctx).engine())]
    if fmt is Format.table:
        for r in rows:
            r["apps"] = r["apps"] if r["apps"] == "*" else ", ".join(r["apps"])
            for k in ("invite_expires_at", "created_at", "last_login_at", "locked_until"):
                r[k] = _when(r[k])
    render(
        rows, fmt, title="members", empty="no members yet: `eventkit members add NAME --role admin`"
    )


@app.command("set")
def set_(
    ctx: typer.Context,
    name: NameArg,
    role: Annotated[str | None, typer.Option(help="New role.")] = None,
    apps: AppsOpt = None,
    all_apps: Annotated[
        bool, typer.Option("--all-apps", help="Every app, present and future.")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Change a member's role or apps (effective on their next request)."""
    info = update_member(state(ctx).engine(), name, role=role, apps=apps or None, all_apps=all_apps)
    render_one(info.to_dict(), fmt, title=f"member {name}")


@app.command("reset")
def reset(ctx: typer.Context, name: NameArg, password: PasswordOpt = False) -> None:
    """Forget the password, end every sign-in, unlock; print a new one-time link."""
    st = state(ctx)
    invite = reset_member(
        st.engine(), name, invite_hours=st.settings.web.invite_hours, password=password
    )
    _print_invite(st.settings, invite)


@app.command("remove")
def remove(ctx: typer.Context, name: NameArg) -> None:
    """Remove a member; their sign-ins end at once."""
    info = remove_member(state(ctx).engine(), name)
    console.print(f"removed member {info.name} ({info.signins} sign-ins ended)")
