"""``eventkit keys``: rotate API keys."""

from __future__ import annotations

from typing import Annotated, cast

import typer

from eventkit.cli.apps import print_new_keys
from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption
from eventkit.storage.apps import KeyKind, rotate_key

__all__ = ["app"]

app = typer.Typer(help="Rotate API keys.", no_args_is_help=True)


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Argument(metavar="APP", help="App name.")],
    kind: Annotated[
        str, typer.Option("--kind", help="write or secret.", case_sensitive=False)
    ] = "write",
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old key valid (overlap for a rollout).")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Issue a new key for APP and revoke the old one (within 30 s on running servers)."""
    if kind not in ("write", "secret"):
        raise typer.BadParameter("must be 'write' or 'secret'", param_hint="--kind")
    st = state(ctx)
    keys = rotate_key(
        st.engine(),
        app_name,
        cast(KeyKind, kind),
        keep_old=keep_old,
    )
    print_new_keys(keys, st.settings.url, fmt)
