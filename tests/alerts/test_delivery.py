"""Delivery to real servers: SMTP with STARTTLS (trustme) and AUTH, a signed webhook and
a Slack-shaped payload checked by a local HTTP receiver; a destination that is down is
retried and dead-lettered without holding up the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.alerts import get_rule, list_deliveries, redeliver, send_test
from eventkit.alerts.jobs import run_alerts_job
from eventkit.config import Settings, load_settings
from eventkit.timeutil import US_PER_HOUR, US_PER_SECOND
from eventkit.webhooks import verify
from tests.alerts.conftest import SETTLE, T0
from tests.alerts.servers import Mailbox, closed_port_url, silent_server, smtp_server
from tests.alerts.test_evaluate import after, rule
from tests.plugins.receiver import Receiver, receiver

SECRET = "hook-secret"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is checked here is the talking to servers (the outbox on
    PostgreSQL is covered by tests/e2e/test_alerts.py with two nodes)."""
    return f"sqlite:///{tmp_path / 'eventkit.db'}"


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with smtp_server(tmp_path) as box:
        yield box


@pytest.fixture
def hooks() -> Iterator[tuple[Receiver, Receiver]]:
    with receiver() as webhook, receiver() as slack:
        yield webhook, slack


@pytest.fixture
def mail_settings(alert_settings: Settings, mailbox: Mailbox) -> Settings:
    env = {**mailbox.env(), "EVENTKIT_DATABASE_URL": alert_settings.database_url}
    smtp = load_settings(environ=env).alerts.smtp
    alerts = alert_settings.alerts.model_copy(update={"smtp": smtp, "timeout_seconds": 1.0})
    return alert_settings.model_copy(update={"alerts": alerts})


def firing_rule(app: Engine, seed: Callable[..., None], destinations: list[dict[str, Any]],
                name: str = "errors") -> int:  # fmt: skip
    """A rule whose first complete hour fires; returns when to run the job."""
    seed("error_shown", [30], unit="hour")
    rule(app, name, metric={"kind": "events", "event": "error_shown"},
         condition={"kind": "above", "threshold": 10}, interval="hour",
         destinations=destinations)  # fmt: skip
    return after(T0 + US_PER_HOUR)


def test_email_webhook_and_slack_are_delivered(
    app: Engine, seed: Callable[..., None], mail_settings: Settings, mailbox: Mailbox,
    hooks: tuple[Receiver, Receiver],
) -> None:  # fmt: skip
    webhook, slack = hooks
    now = firing_rule(app, seed, [
        {"type": "email", "to": "team@example.com"},
        {"type": "webhook", "to": webhook.url, "secret": SECRET},
        {"type": "slack", "to": slack.url},
    ])  # fmt: skip
    run = run_alerts_job(app, mail_settings, now=now)
    assert run.outcomes == {"errors": "fired"}
    assert (run.outbox.delivered, run.outbox.retrying, run.outbox.dead) == (3, 0, 0)
    # Email: STARTTLS, AUTH, headers and both bodies.
    [mail] = mailbox.messages
    assert mailbox.envelopes == [{"from": "eventkit@example.com", "to": ["team@example.com"],
                                  "tls": True, "authenticated": True}]  # fmt: skip
    assert mailbox.logins
    assert mail["Subject"] == "[eventkit] ALERT demo/errors: count of error_shown is 30"
    assert (mail["From"], mail["To"]) == ("eventkit@example.com", "team@example.com")
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    assert "count of error_shown is 30" in text and "above 10" in text
    assert "eventkit report trends --app demo --measure count --interval hour" in text
    assert "--event error_shown" in text
    assert "<h2>" in mail.get_body(("html",)).get_content()
    # Webhook: signed, verifiable, with the figures.
    [(headers, body)] = webhook.requests
    assert verify(SECRET, headers["x-eventkit-timestamp"], body, headers["x-eventkit-signature"])
    assert not verify("wrong", headers["x-eventkit-timestamp"], body,
                      headers["x-eventkit-signature"])  # fmt: skip
    payload = webhook.bodies()[0]
    assert payload["type"] == "alert.fired" and payload["value"] == 30.0
    assert payload["baseline"] == 10.0 and payload["rule"] == "errors"
    assert payload["links"]["cli"].startswith("eventkit report trends --app demo")
    # Slack: an incoming-webhook payload (text fallback and blocks), not signed.
    [(sheaders, _)] = slack.requests
    assert "x-eventkit-signature" not in sheaders
    s = slack.bodies()[0]
    assert s["text"].startswith("ALERT demo/errors:")
    assert [b["type"] for b in s["blocks"]] == ["section", "context"]
    assert s["blocks"][0]["text"]["type"] == "mrkdwn"
    assert "eventkit report trends" in s["blocks"][1]["elements"][0]["text"]


def test_a_down_destination_is_retried_then_dead_lettered_without_blocking(
    app: Engine, seed: Callable[..., None], mail_settings: Settings, mailbox: Mailbox,
    hooks: tuple[Receiver, Receiver],
) -> None:  # fmt: skip
    webhook, _ = hooks
    with silent_server() as hung:
        now = firing_rule(app, seed, [
            {"type": "webhook", "to": closed_port_url()},
            {"type": "webhook", "to": hung},
            {"type": "email", "to": "team@example.com"},
            {"type": "webhook", "to": webhook.url},
        ])  # fmt: skip
        started = time.monotonic()
        first = run_alerts_job(app, mail_settings, now=now)
        took = time.monotonic() - started
        # The two good destinations got it in the first pass; the hung one cost one
        # timeout (1 s) in its own thread, not a wait per message.
        assert (first.outbox.delivered, first.outbox.retrying) == (2, 2)
        assert len(mailbox.messages) == 1 and len(webhook.requests) == 1
        assert took < 5
        # Later passes retry only the failing ones, until max_attempts (3) is used up.
        later = [run_alerts_job(app, mail_settings, now=now + i * US_PER_SECOND).outbox
                 for i in (1, 2)]  # fmt: skip
    assert [(o.delivered, o.retrying, o.dead) for o in later] == [(0, 2, 0), (0, 0, 2)]
    dead = list_deliveries(app, 1, status="dead")
    assert len(dead) == 2 and all(d.attempts == 3 for d in dead)
    assert {d.last_error.split(":")[0] for d in dead} == {"ConnectError", "ReadTimeout"}
    assert len(mailbox.messages) == 1  # never sent twice
    # Redelivery puts them back; a receiver that is up now gets it.
    assert redeliver(app, 1, [dead[0].id]) == 1
    assert list_deliveries(app, 1, status="pending")[0].attempts == 0


def test_wrong_credentials_are_not_retried(
    app: Engine, seed: Callable[..., None], mail_settings: Settings, mailbox: Mailbox
) -> None:
    smtp = mail_settings.alerts.smtp.model_copy(update={"password": "nope"})
    s = mail_settings.model_copy(
        update={"alerts": mail_settings.alerts.model_copy(update={"smtp": smtp})}
    )
    now = firing_rule(app, seed, [{"type": "email", "to": "team@example.com"}])
    assert run_alerts_job(app, s, now=now).outbox.dead == 1
    [d] = list_deliveries(app, 1)
    assert d.attempts == 1 and "SMTPAuthenticationError" in d.last_error
    assert mailbox.messages == []


def test_starttls_is_required_not_optional(
    app: Engine, seed: Callable[..., None], mail_settings: Settings, tmp_path: Path
) -> None:
    # A CA that did not sign the server's certificate: the upgrade fails, and the
    # message is not sent in clear text instead.
    other = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other))
    smtp = mail_settings.alerts.smtp.model_copy(update={"ca_file": str(other)})
    s = mail_settings.model_copy(
        update={"alerts": mail_settings.alerts.model_copy(update={"smtp": smtp})}
    )
    now = firing_rule(app, seed, [{"type": "email", "to": "team@example.com"}])
    run = run_alerts_job(app, s, now=now)
    assert run.outbox.retrying == 1
    assert "CERTIFICATE_VERIFY_FAILED" in list_deliveries(app, 1)[0].last_error


def test_alerts_test_sends_a_sample_now(
    app: Engine, seed: Callable[..., None], mail_settings: Settings, mailbox: Mailbox,
    hooks: tuple[Receiver, Receiver],
) -> None:  # fmt: skip
    webhook, _ = hooks
    firing_rule(app, seed, [{"type": "email", "to": "team@example.com"},
                            {"type": "webhook", "to": webhook.url, "secret": SECRET},
                            {"type": "webhook", "to": closed_port_url()}])  # fmt: skip
    r = get_rule(app, 1, "alert", "errors")
    results = send_test(app, mail_settings, r, now=T0 + 2 * US_PER_HOUR + SETTLE * US_PER_SECOND)
    assert [ok.ok for _, ok in results] == [True, True, False]
    assert results[0][0] == "email team@example.com"
    assert results[1][0].startswith("webhook 127.0.0.1:") and results[1][0].endswith("(signed)")
    assert mailbox.messages[0]["Subject"].startswith("[eventkit] TEST demo/errors")
    assert webhook.bodies()[0]["type"] == "alert.test"
    assert list_deliveries(app, 1) == []  # tests do not go through the outbox
