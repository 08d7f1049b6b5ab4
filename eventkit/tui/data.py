"""What the dashboard shows, fetched through the domain services the CLI uses.

Every method is blocking database work; screens call them from Textual thread
workers. Nothing here computes a report itself: reports come from
:class:`~eventkit.reports.ReportsService`, sessions from ``eventkit.sessions``,
flags and experiments from their stores, events from ``eventkit.storage.events``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.experiments.analysis import Readout, readout
from eventkit.experiments.store import ExperimentRecord, get_experiment, list_experiments
from eventkit.flags.spec import FlagSpec, Rule
from eventkit.flags.store import (
    FlagRecord,
    HistoryEntry,
    change_flag,
    history,
    list_flags,
    set_enabled,
    set_rollout,
)
from eventkit.reports import Report, ReportQuery, ReportsService, parse_filter, parse_step
from eventkit.reports.params import parse_span
from eventkit.reports.paths import PathsSpec
from eventkit.reports.query import Filter, Interval
from eventkit.reports.rate import US_PER_MINUTE, events_per_minute
from eventkit.reports.users import user_timeline
from eventkit.sessions.present import timeline_dict
from eventkit.sessions.queries import SessionFilter, get_session, session_stats
from eventkit.storage.apps import AppInfo, list_apps
from eventkit.storage.events import EventFilter, count_events, query_events
from eventkit.storage.models import Event
from eventkit.timeutil import US_PER_DAY, now_us, parse_when

__all__ = ["RATE_MINUTES", "SCAN", "Dashboard", "EventSearch", "Overview", "tui_actor"]

#: Minutes shown by the overview's live chart.
RATE_MINUTES = 60
#: A property filter looks at this many newest events that pass the other filters.
SCAN = 5000


def tui_actor() -> str:
    """Who the flag audit history names for a dashboard change."""
    try:
        return f"tui:{getpass.getuser()}"
    except (KeyError, OSError):
        return "tui"


@dataclass
class Overview:
    """Everything on the Overview screen."""

    stored: int
    today: int
    active: dict[str, Any]
    sessions: dict[str, Any] | None
    per_minute: list[int]
    top_events: Report
    platforms: Report
    versions: Report
    daily: Report


@dataclass(frozen=True)
class EventSearch:
    """An Explorer / Live filter as typed: name, user, time range and ``key=value``."""

    name: str = ""
    user: str = ""
    since: str = ""
    until: str = ""
    prop: str = ""

    def prop_filter(self) -> Filter | None:
        """The property filter, or None."""
        return parse_filter(self.prop) if self.prop.strip() else None


@dataclass
class Dashboard:
    """One app's data, as of ``clock()`` (tests pin the clock to the demo's end)."""

    engine: Engine
    settings: Settings
    app_id: int | None
    app_name: str | None
    clock: Callable[[], int] = now_us
    reports: ReportsService = field(init=False)

    def __post_init__(self) -> None:
        self.reports = ReportsService(self.engine, self.settings)

    # -- scope -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when an app is selected."""
        return self.app_id is not None

    def app(self) -> int:
        """The selected app id (an empty state is shown before this is called)."""
        if self.app_id is None:
            raise InvalidRequestError("no app yet: run `eventkit demo` or `eventkit apps create`")
        return self.app_id

    def apps(self) -> list[AppInfo]:
        """Every app, for the app switcher."""
        return list_apps(self.engine, count_events=True)

    def query(self, days: int, interval: Interval = "day", by: str | None = None,
              where: tuple[Filter, ...] = ()) -> ReportQuery:  # fmt: skip
        """A report query over the last ``days`` days up to now."""
        now = self.clock()
        return ReportQuery(self.app(), now - days * US_PER_DAY, now, interval, by, where)

    # -- overview ----------------------------------------------------------------------

    def overview(self) -> Overview:
        """Today's numbers, active users, sessions, the live rate and the top lists."""
        app_id, now = self.app(), self.clock()
        midnight = now - now % US_PER_DAY
        today = self.reports.trends(ReportQuery(app_id, midnight, now, "hour"))
        week = self.query(7)
        stats = session_stats(
            self.engine, SessionFilter(app_id=app_id, since=now - US_PER_DAY, until=now),
            by="total",
        )  # fmt: skip
        # The last RATE_MINUTES minutes, the current (partial) one last.
        since = now - now % US_PER_MINUTE - (RATE_MINUTES - 1) * US_PER_MINUTE
        return Overview(
            stored=count_events(self.engine, [app_id]),
            today=int(today.meta["total"] or 0),
            active=self.reports.active(self.query(30)).meta,
            sessions=stats[-1] if stats else None,
            per_minute=events_per_minute(self.engine, app_id, since, now + 1),
            top_events=self.reports.top(week, kind="events", limit=8),
            platforms=self.reports.top(week, kind="platforms", limit=5),
            versions=self.reports.top(week, kind="app_versions", limit=6),
            daily=self.reports.trends(self.query(14), total=False),
        )

    # -- events ------------------------------------------------------------------------

    def _when(self, text: str, what: str) -> int | None:
        if not text.strip():
            return None
        try:
            return parse_when(text, now=self.clock())
        except ValueError as exc:
            raise InvalidRequestError(f"{what}: {exc}") from None

    def events(self, search: EventSearch, *, limit: int = 200, after_id: int | None = None,
               scan: int = SCAN) -> list[Event]:  # fmt: skip
        """Events matching ``search``, newest first (oldest first with ``after_id``).

        The name, user and time filters run in the database; the property filter is
        applied to the newest ``scan`` events that pass them.
        """
        prop = search.prop_filter()
        flt = EventFilter(
            app_id=self.app(),
            name=search.name.strip() or None,
            user_id=search.user.strip() or None,
            since=self._when(search.since, "since"),
            until=self._when(search.until, "until"),
            after_id=after_id,
        )
        rows = query_events(self.engine, flt, limit=scan if prop else limit,
                            newest_first=after_id is None)  # fmt: skip
        if prop is not None:
            rows = [e for e in rows if prop.matches(_prop(e, prop.key))][:limit]
        return rows

    def user(self, user_id: str) -> dict[str, Any]:
        """A user's profile and newest events (``eventkit users show``)."""
        return user_timeline(self.engine, self.app(), user_id, limit=200)

    def session(self, ident: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A session and its event timeline (``eventkit sessions show``)."""
        s = get_session(self.engine, ident, app_id=self.app())
        return s, timeline_dict(s)

    # -- reports -----------------------------------------------------------------------

    def trends(self, event: str | None, interval: Interval, by: str | None, days: int) -> Report:
        """``eventkit report trends``."""
        return self.reports.trends(self.query(days, interval, by), event=event or None)

    def funnel(self, steps: list[str], window: str, days: int) -> Report:
        """``eventkit report funnel``."""
        return self.reports.funnel(
            self.query(days), [parse_step(s) for s in steps], window_seconds=parse_span(window)
        )

    def paths(self, after: str | None, by: str, days: int, steps: int = 5) -> Report:
        """``eventkit report paths``."""
        spec = PathsSpec(after=after or None, by="event" if by == "event" else "screen",
                         steps=steps)  # fmt: skip
        return self.reports.paths(self.query(days), spec)

    def releases(self, days: int) -> Report:
        """Release health over the last ``days`` days."""
        return self.reports.releases(self.query(days))

    def retention(self, interval: Interval, days: int, periods: int = 8) -> Report:
        """``eventkit report retention``."""
        return self.reports.retention(self.query(days, interval), periods=periods)

    # -- flags -------------------------------------------------------------------------

    def flags(self) -> list[FlagRecord]:
        """The app's flags."""
        return list_flags(self.engine, self.app())

    def flag_history(self, key: str) -> list[HistoryEntry]:
        """Every change to a flag, oldest first."""
        return history(self.engine, self.app(), key)

    def set_enabled(self, key: str, on: bool) -> FlagRecord:
        """``eventkit flags enable|disable``."""
        return set_enabled(self.engine, self.app(), key, on, actor=tui_actor())

    def set_rollout(self, key: str, percent: float) -> FlagRecord:
        """``eventkit flags rollout``: the last rule's rollout (an everyone rule if none)."""
        return set_rollout(self.engine, self.app(), key, percent, actor=tui_actor())

    def set_rules(self, key: str, rules_json: str) -> FlagRecord:
        """Replace a flag's ordered rules with a JSON list (as in ``flags show``)."""
        try:
            rules = msgspec.json.decode(rules_json.encode(), type=list[Rule])
        except msgspec.DecodeError as exc:
            raise InvalidRequestError(f"the rules are not valid: {exc}") from None
        except msgspec.ValidationError as exc:
            raise InvalidRequestError(f"the rules are not valid: {exc}") from None

        def mutate(s: FlagSpec) -> FlagSpec:
            s.rules = rules
            return s

        return change_flag(self.engine, self.app(), key, mutate, action="rules",
                           summary=f"edited rules ({len(rules)})", actor=tui_actor())  # fmt: skip

    # -- experiments -------------------------------------------------------------------

    def experiments(self) -> list[ExperimentRecord]:
        """The app's experiments."""
        return list_experiments(self.engine, self.app())

    def results(self, key: str) -> tuple[ExperimentRecord, Readout | None]:
        """An experiment and its readout (None before it started)."""
        rec = get_experiment(self.engine, self.app(), key)
        if rec.started_at is None:
            return rec, None
        return rec, readout(self.engine, self.app(), rec)


def _prop(e: Event, key: str) -> Any:
    columns = {"platform": e.platform, "app_version": e.app_version, "country": e.country}
    if key in columns:
        return columns[key]
    return e.properties.get(key) if isinstance(e.properties, dict) else None
