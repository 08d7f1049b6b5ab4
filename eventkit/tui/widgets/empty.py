"""The empty state: what a new user does next."""

from __future__ import annotations

from textual.widgets import Static

__all__ = ["NO_APP", "NO_EVENTS", "EmptyState"]

NO_APP = """[bold]No app yet.[/bold]

Try eventkit on simulated traffic (30 days of iOS and Android users, a funnel and a
running A/B test):

    [cyan]eventkit demo[/cyan]          then   [cyan]eventkit dashboard --app demo[/cyan]

or create your own app and send it events:

    [cyan]eventkit apps create my-app[/cyan]     (prints the write key)
    [cyan]eventkit serve[/cyan]
"""

NO_EVENTS = """[bold]No events in this app yet.[/bold]

Start the server ([cyan]eventkit serve[/cyan]) and send a first event with the app's write key:

    [cyan]eventkit events send --key ek_write_… -n app_open -u user-1[/cyan]

or with curl (README.md, "Send your first event"). New events appear here and on the
[bold]Live[/bold] screen (key 2) within a second. To explore with realistic data instead,
run [cyan]eventkit demo[/cyan] and open [cyan]eventkit dashboard --app demo[/cyan].
"""


class EmptyState(Static):
    """A hint shown instead of an empty screen."""

    def __init__(self, text: str = NO_EVENTS, *, id: str = "empty") -> None:
        super().__init__(text, id=id, classes="empty")
