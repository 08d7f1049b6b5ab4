"""The dashboard app: six screens (modes), the command palette, help and errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from eventkit.storage.apps import AppInfo
from eventkit.tui.data import Dashboard
from eventkit.tui.screens.apps import AppPicker
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.screens.experiments import ExperimentsScreen
from eventkit.tui.screens.explorer import ExplorerScreen
from eventkit.tui.screens.flags import FlagsScreen
from eventkit.tui.screens.help import HelpScreen
from eventkit.tui.screens.live import LiveScreen
from eventkit.tui.screens.modals import ErrorModal
from eventkit.tui.screens.overview import OverviewScreen
from eventkit.tui.screens.reports import ReportsScreen
from eventkit.tui.widgets.navbar import SCREENS

__all__ = ["DashboardApp"]

_SCREEN_CLASSES: dict[str, type[Screen[Any]]] = {
    "overview": OverviewScreen,
    "live": LiveScreen,
    "explorer": ExplorerScreen,
    "reports": ReportsScreen,
    "flags": FlagsScreen,
    "experiments": ExperimentsScreen,
}


class DashboardApp(App[None]):
    """``eventkit dashboard``: one app's data, read through the domain services.

    Args:
        data: the database, settings, app and clock to show.
        refresh_seconds: Overview auto-refresh period (0: off).
        live_seconds: how often the Live screen polls for new events (0: off).
        start: the screen to open on.
    """

    TITLE = "eventkit dashboard"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = dict(_SCREEN_CLASSES)
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(str(i), f"go('{mode}')", title, show=False)
            for i, (mode, title) in enumerate(SCREENS, 1)
        ),
        Binding("a", "switch_app", "App"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        data: Dashboard,
        *,
        refresh_seconds: float = 5.0,
        live_seconds: float = 1.0,
        start: str = "overview",
    ) -> None:
        super().__init__()
        self.data = data
        self.refresh_seconds = refresh_seconds
        self.live_seconds = live_seconds
        self.start = start
        self.sub_title = data.app_name or "no app"

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.switch_mode(self.start)

    def action_go(self, mode: str) -> None:
        """Show one of the six screens."""
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        """Keys of every screen."""
        everywhere: list[BindingType] = [
            *(Binding(str(i), "", f"{t} screen") for i, (_, t) in enumerate(SCREENS, 1)),
            *self.BINDINGS[len(SCREENS) :],
            Binding("ctrl+p", "", "Command palette: go to a screen, refresh, theme"),
            Binding("tab", "", "Next field or table"),
            Binding("escape", "", "Close a dialog, back from a timeline"),
        ]
        sections: list[tuple[str, list[BindingType]]] = [("Everywhere", everywhere)]
        for mode, title in SCREENS:
            sections.append((title, list(_SCREEN_CLASSES[mode].BINDINGS)))
        self.push_screen(HelpScreen(sections))

    def action_switch_app(self) -> None:
        """Choose another app from a list."""
        if isinstance(self.screen, DashboardScreen):
            self.screen.load(self.data.apps, self._pick, group="apps")

    def _pick(self, apps: list[AppInfo]) -> None:
        if not apps:
            self.show_error("no apps yet: run `eventkit demo` or `eventkit apps create NAME`")
            return

        def picked(choice: AppInfo | None) -> None:
            if choice is not None and choice.id != self.data.app_id:
                self.run_worker(self.use_app(choice.id, choice.name), group="switch")

        self.push_screen(AppPicker(apps, self.data.app_id), picked)

    async def use_app(self, app_id: int, name: str) -> None:
        """Show another app: every screen is built again on its data."""
        for worker in self.workers:  # results of the old app must not land anywhere
            if worker.node is not self:
                worker.cancel()
        self.data.app_id, self.data.app_name = app_id, name
        self.sub_title = name
        back = self.current_mode
        self.add_mode("switching", Screen)
        await self.switch_mode("switching")
        for mode, cls in _SCREEN_CLASSES.items():
            await self.remove_mode(mode)
            self.add_mode(mode, cls)
        await self.switch_mode(back)
        await self.remove_mode("switching")

    def show_error(self, message: str) -> None:
        """Show an error in a modal (never a traceback)."""
        self.push_screen(ErrorModal(message))

    def post(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` on the UI thread (from a worker); a no-op once the
        app is shutting down."""
        if not self.is_running:
            return
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            if self.is_running:  # the callback's own error, not a stopped app
                raise

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, (mode, title) in enumerate(SCREENS, 1):
            yield SystemCommand(f"Go to {title}", f"Show the {title} screen (key {i})",
                                partial(self.action_go, mode))  # fmt: skip
        yield SystemCommand("Help", "Every screen and its keys (?)", self.action_help)
        yield SystemCommand("Switch app", "Show another app (a)", self.action_switch_app)
        yield SystemCommand("Refresh", "Fetch this screen's data again (r)", self._reload)

    def _reload(self) -> None:
        if isinstance(self.screen, DashboardScreen):
            self.screen.refresh_data()
