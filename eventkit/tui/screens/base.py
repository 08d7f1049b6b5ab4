"""What every dashboard screen shares: the navigation bar, the footer, and running
database work in a thread worker with errors shown in a modal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from eventkit.errors import EventKitError
from eventkit.tui.widgets.navbar import NavBar

if TYPE_CHECKING:
    from eventkit.tui.app import DashboardApp
    from eventkit.tui.data import Dashboard

__all__ = ["DashboardScreen"]

log = logging.getLogger("eventkit.tui")
T = TypeVar("T")


class DashboardScreen(Screen[None]):
    """A top-level screen (a mode of the app)."""

    #: The mode name, shown highlighted in the navigation bar.
    MODE = ""

    @property
    def dash(self) -> DashboardApp:
        """The app, typed."""
        from eventkit.tui.app import DashboardApp

        assert isinstance(self.app, DashboardApp)
        return self.app

    @property
    def data(self) -> Dashboard:
        """The data facade of the app."""
        return self.dash.data

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE, self.data.app_name)
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        """The screen's content between the navigation bar and the footer."""
        yield from ()

    def load(self, fetch: Callable[[], T], done: Callable[[T], Any], *, group: str = "db") -> None:
        """Run ``fetch`` in a thread worker, then ``done(result)`` on the UI thread.

        An eventkit error becomes the error modal; any other exception too (with
        the traceback in the log, never on screen). A newer load in the same
        ``group`` cancels the older one.
        """
        app = self.dash

        def work() -> None:
            try:
                result = fetch()
                if not get_current_worker().is_cancelled:
                    app.post(done, result)  # runs on the UI thread; its errors come back here
            except EventKitError as exc:
                app.post(app.show_error, str(exc))
            except Exception as exc:
                log.exception("dashboard: %s failed", getattr(fetch, "__name__", "a query"))
                app.post(app.show_error, f"unexpected error: {exc}")

        self.run_worker(work, thread=True, group=group, exclusive=True, exit_on_error=False)

    def action_reload(self) -> None:
        """Fetch the screen's data again."""
        self.refresh_data()

    def refresh_data(self) -> None:
        """Override: start the loads that fill the screen."""
