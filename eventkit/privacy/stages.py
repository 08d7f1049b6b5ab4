"""The privacy stages of the ingest pipeline.

- ``forget_stage`` (early): drops events of deleted users and devices (tombstones) and
  events older than the app's retention, before anything else looks at them;
- ``protect_stage`` (last): scrubs properties and context, then applies the app's
  client-IP policy (drop, anonymize to IPv4 /24 or IPv6 /48, keep) after enrichment
  such as GeoIP has used the full address.

Both read one per-process :class:`PolicyCache` of the apps' policies: no database read
per event, one small read per ``privacy.refresh_seconds`` (in a thread).
"""

from __future__ import annotations

import weakref
from dataclasses import replace

from sqlalchemy.engine import Engine

from eventkit.capture.ip import anonymize_ip
from eventkit.config import Settings
from eventkit.ingest.pipeline import Batch, Stage
from eventkit.privacy.policy import PrivacyPolicy, default_policy, load_policies, subject_digest
from eventkit.storage.policies import PolicyCache
from eventkit.timeutil import US_PER_DAY, now_us

__all__ = ["forget_stage", "policy_cache", "protect_stage"]

_caches: weakref.WeakKeyDictionary[Engine, PolicyCache[PrivacyPolicy]] = weakref.WeakKeyDictionary()


def policy_cache(settings: Settings, engine: Engine) -> PolicyCache[PrivacyPolicy]:
    """The process's privacy policy cache for this engine (shared by both stages)."""
    cache = _caches.get(engine)
    if cache is None:
        config = settings.privacy
        cache = PolicyCache(
            engine,
            lambda conn, ids: load_policies(conn, ids, config),
            default_policy(config),
            config.refresh_seconds,
        )
        _caches[engine] = cache
    return cache


def _forget(batch: Batch, policy: PrivacyPolicy) -> None:
    stones = policy.tombstones
    cutoff = now_us() - policy.retention_days * US_PER_DAY if policy.retention_days else None
    seen: dict[str, bool] = {}
    app_id = batch.app_id
    for i, ev in enumerate(batch.events):
        if cutoff is not None and ev.ts < cutoff:
            batch.drop(i)
            continue
        if not stones:
            continue
        for subject in (ev.user_id, ev.anonymous_id):
            if not subject:
                continue
            gone = seen.get(subject)
            if gone is None:
                gone = seen[subject] = subject_digest(app_id, subject) in stones
            if gone:
                batch.drop(i)
                break


def forget_stage(settings: Settings, engine: Engine | None) -> Stage | None:
    """Drop events of deleted users (tombstones) and events older than retention."""
    if engine is None:
        if not settings.privacy.retention_days:
            return None
        policy = default_policy(settings.privacy)
        return lambda batch: _forget(batch, policy)
    cache = policy_cache(settings, engine)

    async def forget(batch: Batch) -> None:
        policy = await cache.current(batch.app_id)
        if policy.tombstones or policy.retention_days:
            _forget(batch, policy)

    return forget


def _protect(batch: Batch, policy: PrivacyPolicy) -> None:
    scrubber = policy.scrubber
    if scrubber is not None:
        for ev in batch.events:
            props = scrubber.apply(batch.app_id, ev.properties)
            if props is not None:
                ev.properties = props
            ctx = scrubber.apply(batch.app_id, ev.context)
            if ctx is not None:
                ev.context = ctx
        for i, op in enumerate(batch.ops):  # profile traits are properties of the user
            traits = scrubber.apply(batch.app_id, op.set)
            once = scrubber.apply(batch.app_id, op.set_once)
            if traits is not None or once is not None:
                batch.ops[i] = replace(
                    op,
                    set=op.set if traits is None else traits,
                    set_once=op.set_once if once is None else once,
                )
    if policy.ip == "keep":
        return
    if policy.ip == "drop":
        for ev in batch.events:
            ev.ip = None
        return
    last: str | None = None
    reduced: str | None = None
    for ev in batch.events:
        if ev.ip is None:
            continue
        if ev.ip != last:  # one request, one address: computed once
            last, reduced = ev.ip, anonymize_ip(ev.ip)
        ev.ip = reduced


def protect_stage(settings: Settings, engine: Engine | None) -> Stage:
    """Scrub properties by the app's rules, then apply its client-IP policy (the last
    stage: enrichment before it may use the full address)."""
    if engine is None:
        policy = default_policy(settings.privacy)
        return lambda batch: _protect(batch, policy)
    cache = policy_cache(settings, engine)

    async def protect(batch: Batch) -> None:
        _protect(batch, await cache.current(batch.app_id))

    return protect
