"""flags: an enabled flag without rules serves everyone its weighted variant

Until now an enabled flag without rules served its ``default_variant`` to everyone, so a
boolean flag switched on served ``off`` (``false``). From now on it serves what an
"everyone" rule would: the one weighted variant (a boolean's ``on``, ``true``) or the
split of the variant weights, as LaunchDarkly, Unleash, PostHog and flagd do.

Flags that are enabled now keep serving exactly what they served: each one whose
answer would change gets an explicit everyone rule naming its ``default_variant``,
recorded in its history (actor ``migration:0008``). Disabled flags are left alone and
follow the new rule when they are enabled. docs/feature_flags.md, "Migrating from
0.1", says how to adopt the new behaviour for a migrated flag.

Revision ID: 0008_flags_everyone
Revises: 0003_flags
"""

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import eventkit.storage.types

revision: str = "0008_flags_everyone"
down_revision: str | Sequence[str] | None = "0003_flags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration:0008"

_flags = sa.table(
    "flags",
    sa.column("id", sa.Integer()),
    sa.column("app_id", sa.Integer()),
    sa.column("key", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("definition", eventkit.storage.types.JSONDoc()),
    sa.column("updated_at", sa.BigInteger()),
)
_history = sa.table(
    "flag_history",
    sa.column("app_id", sa.Integer()),
    sa.column("flag_key", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("summary", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("at", sa.BigInteger()),
    sa.column("definition", eventkit.storage.types.JSONDoc()),
)
_versions = sa.table(
    "flags_versions", sa.column("app_id", sa.Integer()), sa.column("version", sa.BigInteger())
)


def changes_meaning(doc: dict[str, Any]) -> bool:
    """True for an enabled flag without rules whose answer the new rule would change:
    its one weighted variant is not its default, or its weights split."""
    if not doc.get("enabled") or doc.get("rules"):
        return False
    weighted = [v["key"] for v in doc.get("variants", []) if v.get("weight", 0) > 0]
    return weighted != [doc.get("default_variant", "off")]


def keep_serving_default(doc: dict[str, Any]) -> dict[str, Any]:
    """The definition with an everyone rule that serves its default variant."""
    default = doc.get("default_variant", "off")
    rule = {
        "conditions": [],
        "rollout": 100.0,
        "variant": default,
        "description": f"{ACTOR}: keeps serving {default!r} to everyone as before",
    }
    return {**doc, "rules": [rule]}


def upgrade() -> None:
    conn = op.get_bind()
    now = time.time_ns() // 1000
    rows = conn.execute(
        sa.select(_flags.c.id, _flags.c.app_id, _flags.c.key, _flags.c.version, _flags.c.definition)
    ).all()
    apps = set()
    for row in rows:
        if not changes_meaning(row.definition):
            continue
        doc = keep_serving_default(row.definition)
        version = row.version + 1
        conn.execute(
            sa.update(_flags)
            .where(_flags.c.id == row.id)
            .values(version=version, definition=doc, updated_at=now)
        )
        conn.execute(
            _history.insert().values(
                app_id=row.app_id,
                flag_key=row.key,
                version=version,
                action="migrate",
                summary=f"everyone rule added: keeps serving {doc['rules'][0]['variant']!r}",
                actor=ACTOR,
                at=now,
                definition=doc,
            )
        )
        apps.add(row.app_id)
    for app_id in apps:  # running servers recompile the app's flags
        conn.execute(
            sa.update(_versions)
            .where(_versions.c.app_id == app_id)
            .values(version=_versions.c.version + 1)
        )


def downgrade() -> None:
    # The added rules serve under the old rule exactly what they serve now.
    pass
