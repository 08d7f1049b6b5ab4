"""The ``[alerts]``, ``[alerts.smtp]`` and ``[releases]`` sections of the settings
(docs/alerts.md, docs/reports.md#release-health)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from eventkit.config_sections import _Section

__all__ = ["AlertSettings", "ReleaseSettings", "SmtpSettings"]


class SmtpSettings(_Section):
    """The mail server alert and digest emails are sent through."""

    host: str = Field("", description="SMTP server; empty: email destinations are refused.")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for TLS.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (upgrade the connection; required to succeed), tls (TLS from "
        "the first byte) or none (only for a relay on the same machine).",
    )
    username: str = Field("", description="AUTH user; empty: no authentication.")
    password: str = Field("", description="AUTH password (or EVENTKIT_ALERTS__SMTP__PASSWORD).")
    from_address: str = Field(
        "eventkit@localhost", description="The From: address of alert and digest emails."
    )
    ca_file: str = Field(
        "", description="PEM CA bundle to verify the server (default: the system's CAs)."
    )
    timeout_seconds: float = Field(15.0, gt=0, description="Per connection attempt.")


class AlertSettings(_Section):
    """Alert evaluation, digests and delivery."""

    enabled: bool = Field(True, description="Run the alerts and delivery jobs in the scheduler.")
    interval_seconds: float = Field(
        60.0, gt=0, description="How often rules are evaluated and the outbox is sent."
    )
    settle_seconds: float = Field(
        300.0,
        ge=0,
        description="A bucket is evaluated only this long after it ended, so late and "
        "batched mobile events are in (the complete-bucket rule).",
    )
    max_attempts: int = Field(
        8, ge=1, le=50, description="Tries per message before it goes to the dead-letter list."
    )
    backoff_seconds: float = Field(
        30.0, ge=0, description="Wait after the first failed try; doubled after each."
    )
    max_backoff_seconds: float = Field(1800.0, ge=0, description="Longest wait between tries.")
    timeout_seconds: float = Field(10.0, gt=0, description="Per HTTP attempt.")
    concurrency: int = Field(
        4, ge=1, le=64, description="Messages sent at once, so one slow receiver blocks no other."
    )
    history_days: int = Field(
        90, ge=1, description="Evaluations and delivered messages older than this are deleted."
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)

    @model_validator(mode="after")
    def _backoff_order(self) -> AlertSettings:
        if self.max_backoff_seconds < self.backoff_seconds:
            raise ValueError("max_backoff_seconds must be at least backoff_seconds")
        return self


class ReleaseSettings(_Section):
    """The release-health job (crash-free users and sessions, adoption, annotations)."""

    enabled: bool = Field(True, description="Run the release-health job in the scheduler.")
    interval_seconds: float = Field(60.0, gt=0, description="Seconds between runs.")
    batch_events: int = Field(
        200_000, ge=100, description="Most new events folded in per transaction."
    )
    settle_seconds: float = Field(
        10.0,
        ge=0,
        description="PostgreSQL only: leave events received this recently for the next run "
        "(a lower arrival id may still be committing).",
    )
    annotate: bool = Field(
        True, description="Record an annotation when a new app version is first seen."
    )
