"""Per-app privacy settings and tombstones, as the ingest pipeline sees them.

An app's settings live in ``apps.settings["privacy"]`` and override the ``[privacy]``
config section: ``ip`` (drop | anonymize | keep), ``retention_days`` (0: keep raw
events) and ``scrub`` (rules added to the config's). Tombstones are SHA-256
digests of ``"<app_id>:<id>"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.engine import Connection

from eventkit.config import IpPolicy, PrivacySettings
from eventkit.errors import InvalidRequestError
from eventkit.privacy.scrub import Scrubber, ScrubRule, parse_rule
from eventkit.storage.models import APPS, USER_TOMBSTONES
from eventkit.storage.policies import update_app_settings

__all__ = [
    "IP_POLICIES",
    "PrivacyPolicy",
    "default_policy",
    "load_policies",
    "policy_from",
    "set_privacy_settings",
    "subject_digest",
    "subject_hash",
]

IP_POLICIES: tuple[IpPolicy, ...] = ("drop", "anonymize", "keep")


def subject_hash(app_id: int, subject: str) -> str:
    """The stored form of a deleted id: hex SHA-256 of ``"<app_id>:<id>"``."""
    return hashlib.sha256(f"{app_id}:{subject}".encode()).hexdigest()


def subject_digest(app_id: int, subject: str) -> bytes:
    """The in-memory form of a tombstone: the first 16 bytes of :func:`subject_hash`."""
    return hashlib.sha256(f"{app_id}:{subject}".encode()).digest()[:16]


@dataclass(frozen=True)
class PrivacyPolicy:
    """What the privacy stages do for one app."""

    ip: IpPolicy = "anonymize"
    retention_days: int = 0
    scrubber: Scrubber | None = None
    tombstones: frozenset[bytes] = field(default_factory=frozenset)


def _rules(config: PrivacySettings, app: dict[str, Any]) -> list[ScrubRule]:
    texts = [*config.scrub, *(app.get("scrub") or [])]
    return [parse_rule(t) for t in texts]


def policy_from(
    config: PrivacySettings,
    app_id: int,
    app: dict[str, Any] | None,
    tombstones: frozenset[bytes] = frozenset(),
) -> PrivacyPolicy:
    """An app's effective policy: its ``apps.settings["privacy"]`` over the config."""
    app = app or {}
    rules = _rules(config, app)
    ip = app.get("ip") if app.get("ip") in IP_POLICIES else config.ip
    retention = app.get("retention_days")
    return PrivacyPolicy(
        ip=cast(IpPolicy, ip),
        retention_days=int(retention) if retention is not None else config.retention_days,
        scrubber=Scrubber(rules, config.hash_key) if rules else None,
        tombstones=tombstones,
    )


def default_policy(config: PrivacySettings) -> PrivacyPolicy:
    """The policy of an app that never changed its settings or deleted anyone."""
    rules = [parse_rule(t) for t in config.scrub]
    return PrivacyPolicy(
        ip=config.ip,
        retention_days=config.retention_days,
        scrubber=Scrubber(rules, config.hash_key) if rules else None,
    )


def load_policies(
    conn: Connection, app_ids: Iterable[int], config: PrivacySettings
) -> dict[int, PrivacyPolicy]:
    """Policies of the given apps with their tombstones (for the ingest cache)."""
    ids = list(app_ids)
    stones: dict[int, set[bytes]] = {}
    for a, subject in conn.execute(
        select(USER_TOMBSTONES.c.app_id, USER_TOMBSTONES.c.subject).where(
            USER_TOMBSTONES.c.app_id.in_(ids)
        )
    ):
        stones.setdefault(int(a), set()).add(bytes.fromhex(subject)[:16])
    out = {}
    for a, settings in conn.execute(select(APPS.c.id, APPS.c.settings).where(APPS.c.id.in_(ids))):
        app = (settings or {}).get("privacy")
        out[int(a)] = policy_from(config, int(a), app, frozenset(stones.get(int(a), ())))
    return out


def set_privacy_settings(
    conn: Connection,
    app_id: int,
    *,
    ip: str | None = None,
    retention_days: int | None = None,
    scrub: list[str] | None = None,
) -> dict[str, Any]:
    """Change an app's privacy settings (``None`` leaves a setting as it is; ``scrub``
    replaces the app's rules, ``[]`` removes them). Returns the app's section.

    Raises:
        InvalidRequestError: a value is not valid.
    """
    values: dict[str, Any] = {}
    if ip is not None:
        if ip not in IP_POLICIES:
            raise InvalidRequestError(f"--ip must be one of {', '.join(IP_POLICIES)}, not {ip!r}")
        values["ip"] = ip
    if retention_days is not None:
        if retention_days < 0:
            raise InvalidRequestError("--retention-days must be 0 (keep) or a number of days")
        values["retention_days"] = retention_days
    if scrub is not None:
        for rule in scrub:
            parse_rule(rule)
        values["scrub"] = list(scrub)
    return update_app_settings(conn, app_id, "privacy", values)
