"""``eventkit webhook deadletter list|replay``."""

from __future__ import annotations

from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.timeutil import from_us
from eventkit_webhook.delivery import Webhook, list_deadletters, options_of, replay

__all__ = ["app"]

app = typer.Typer(help="The webhook forwarder (bundled plugin).", no_args_is_help=True)
deadletter = typer.Typer(help="Batches that could not be delivered.", no_args_is_help=True)
app.add_typer(deadletter, name="deadletter")


@deadletter.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Dead-lettered batches, oldest first."""
    rows = [
        {
            "id": d.id,
            "created": from_us(d.created_at).isoformat(timespec="seconds"),
            "events": d.event_count,
            "attempts": d.attempts,
            "url": d.url,
            "last_error": d.last_error,
        }
        for d in list_deadletters(state(ctx).engine())
    ]
    render(rows, fmt, title="webhook dead letters", empty="no dead letters")


@deadletter.command("replay")
def replay_cmd(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to replay (default: all).")
    ] = None,
    attempts: Annotated[int, typer.Option(min=1, max=50, help="Tries per batch.")] = 1,
) -> None:
    """POST dead-lettered batches again to the configured URL; delivered ones are removed."""
    st = state(ctx)
    engine = st.engine()
    webhook = Webhook(options_of(st.settings), engine)
    try:
        results = replay(engine, webhook, ids or None, attempts=attempts)
    finally:
        webhook.close()
    delivered = sum(1 for _, o in results if o.ok)
    for dl, outcome in results:
        if not outcome.ok:
            console.print(f"[red]#{dl.id}[/red] failed again: {outcome.error}", highlight=False)
    console.print(
        f"replayed {len(results)} dead letters: {delivered} delivered, "
        f"{len(results) - delivered} still failing",
        highlight=False,
    )
    if delivered < len(results):
        raise typer.Exit(1)
