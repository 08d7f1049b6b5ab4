"""What an alert rule and a digest are: the metric, the condition, the interval, the
cooldown and the destinations (docs/alerts.md). Validated once, at the edge (CLI
options, API bodies); stored as JSON in ``alert_rules.definition``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from eventkit.errors import InvalidRequestError
from eventkit.reports.funnel import parse_step
from eventkit.reports.params import parse_span
from eventkit.reports.query import parse_filter

__all__ = [
    "METRICS",
    "RELEASE_METRICS",
    "AlertSpec",
    "Condition",
    "Destination",
    "DigestSpec",
    "Metric",
    "parse_spec",
]

MetricKind = Literal[
    "events",
    "users",
    "active_users",
    "funnel_conversion",
    "crash_free_users",
    "crash_free_sessions",
    "errors_per_session",
    "crashes",
    "adoption",
]
METRICS: tuple[str, ...] = MetricKind.__args__  # type: ignore[attr-defined]
#: Metrics read from the release-health tables; they take ``version`` and ``platform``.
RELEASE_METRICS = frozenset(
    {"crash_free_users", "crash_free_sessions", "errors_per_session", "crashes", "adoption"}
)
#: Metrics that are percentages (0..100).
PERCENT_METRICS = frozenset(
    {"crash_free_users", "crash_free_sessions", "adoption", "funnel_conversion"}
)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _check(parse: Callable[[str], object], text: str) -> None:
    """Run one of the report parsers as a field check (their errors become the
    field's message)."""
    try:
        parse(text)
    except InvalidRequestError as exc:
        raise ValueError(exc.message) from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Model):
    """What is measured per bucket."""

    kind: MetricKind
    event: str | None = Field(None, description="events/users: the event (default: any).")
    where: list[str] = Field(default_factory=list, description="key=value / key!=value.")
    steps: list[str] = Field(default_factory=list, description="funnel_conversion: steps.")
    window: str = Field("1d", description="funnel_conversion: conversion window.")
    version: str = Field("latest", description="Release metrics: a version, or latest.")
    platform: str | None = Field(None, description="Release metrics: one platform.")
    min_sample: int = Field(
        0,
        ge=0,
        description="Ratio metrics: evaluate only with at least this many users, "
        "sessions or funnel entrants in the bucket.",
    )

    @field_validator("where")
    @classmethod
    def _filters(cls, value: list[str]) -> list[str]:
        for w in value:
            _check(parse_filter, w)
        return value

    @model_validator(mode="after")
    def _fits(self) -> Metric:
        if self.kind == "funnel_conversion":
            if len(self.steps) < 2:
                raise ValueError("funnel_conversion needs at least two --step")
            for s in self.steps:
                _check(parse_step, s)
            _check(parse_span, self.window)
        elif self.steps:
            raise ValueError("--step is only for funnel_conversion")
        if self.kind not in ("events", "users") and self.event:
            raise ValueError("--event is only for the events and users metrics")
        if self.kind in RELEASE_METRICS and self.where:
            raise ValueError("release metrics take --version and --platform, not --where")
        return self

    @property
    def window_seconds(self) -> int:
        """The funnel window in seconds."""
        return parse_span(self.window)


ConditionKind = Literal["above", "below", "drop", "rise", "anomaly"]


class Condition(_Model):
    """When the bucket's value fires the rule.

    - ``above``/``below``: value > / < ``threshold``;
    - ``drop``/``rise``: value fell / grew by at least ``threshold`` percent against
      the previous bucket (``compare_to = "previous"``) or the same bucket a week
      earlier (``"week"``);
    - ``anomaly``: outside the seasonal median ± ``sensitivity`` robust deviations of
      the last ``baseline`` same-weekday (or same hour-of-week) buckets
      (eventkit.alerts.anomaly).
    """

    kind: ConditionKind
    threshold: float | None = None
    compare_to: Literal["previous", "week"] = "previous"
    sensitivity: float = Field(4.0, gt=0, le=50)
    baseline: int = Field(4, ge=3, le=26)
    direction: Literal["both", "up", "down"] = "both"

    @model_validator(mode="after")
    def _needs(self) -> Condition:
        if self.kind != "anomaly" and self.threshold is None:
            raise ValueError(f"a {self.kind} condition needs a threshold")
        if self.kind in ("drop", "rise") and not 0 < (self.threshold or 0) <= 1000:
            raise ValueError(f"--{self.kind} is a percentage between 0 and 1000")
        return self


class Destination(_Model):
    """Where a message goes: ``email`` (an address), ``slack`` (an incoming-webhook
    URL) or ``webhook`` (a URL; signed with ``secret`` when set)."""

    type: Literal["email", "slack", "webhook"]
    to: str = Field(min_length=3, max_length=2000)
    secret: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _target(self) -> Destination:
        if self.type == "email":
            if not _EMAIL.match(self.to):
                raise ValueError(f"{self.to!r} is not an email address")
        elif not self.to.startswith(("http://", "https://")):
            raise ValueError(f"a {self.type} destination is an http(s) URL, not {self.to!r}")
        if self.secret and self.type != "webhook":
            raise ValueError("only webhook destinations are signed with a secret")
        return self

    def label(self) -> str:
        """Shown in lists: never the secret, only the host of a URL."""
        if self.type == "email":
            return f"email {self.to}"
        host = self.to.split("/")[2] if self.to.count("/") >= 2 else self.to
        return f"{self.type} {host}" + (" (signed)" if self.secret else "")


class AlertSpec(_Model):
    """An alert rule."""

    metric: Metric
    condition: Condition
    interval: Literal["hour", "day", "week"] = "day"
    cooldown: str = Field("6h", description="No second 'fired' message within this span.")
    destinations: list[Destination] = Field(min_length=1)
    description: str = Field("", max_length=500)

    @field_validator("cooldown")
    @classmethod
    def _span(cls, value: str) -> str:
        _check(parse_span, value)
        return value

    @model_validator(mode="after")
    def _affordable(self) -> AlertSpec:
        # An hourly anomaly reads 4 weeks x 168 hours: one query for counts, but one
        # release-health or funnel computation per hour would be hundreds.
        slow = self.metric.kind in RELEASE_METRICS or self.metric.kind == "funnel_conversion"
        if self.condition.kind == "anomaly" and self.interval == "hour" and slow:
            raise ValueError(
                f"an hourly anomaly check on {self.metric.kind} is not offered: use "
                "--interval day, or a threshold (--below/--above) per hour"
            )
        return self

    @property
    def cooldown_seconds(self) -> int:
        """The cooldown in seconds."""
        return parse_span(self.cooldown)


class DigestSpec(_Model):
    """A scheduled summary of one app."""

    period: Literal["daily", "weekly"] = "weekly"
    hour: int = Field(8, ge=0, le=23, description="Sent after this UTC hour.")
    funnels: list[list[str]] = Field(
        default_factory=list, description="Pinned funnels: each a list of steps."
    )
    destinations: list[Destination] = Field(min_length=1)

    @field_validator("funnels")
    @classmethod
    def _steps(cls, value: list[list[str]]) -> list[list[str]]:
        for steps in value:
            if len(steps) < 2:
                raise ValueError("a pinned funnel needs at least two steps")
            for s in steps:
                _check(parse_step, s)
        return value


def parse_spec(kind: str, data: dict[str, Any]) -> AlertSpec | DigestSpec:
    """Validate a definition (an API body, a CLI's options, a stored row).

    Raises:
        InvalidRequestError: naming each field that is wrong and why.
    """
    model: type[AlertSpec] | type[DigestSpec] = AlertSpec if kind == "alert" else DigestSpec
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'definition'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidRequestError(f"invalid {kind}: {problems}") from None
