"""dedup: event_keys keyed by (bucket, app_id, event_id); dedup_state

The keys of existing events get their events' buckets; keys whose event is gone
(erased, or dropped with a partition) keep deduplicating in the legacy bucket.

Revision ID: 0008_dedup
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

from eventkit.storage.dedup import LEGACY_BUCKET, bucket_sql

revision: str = "0008_dedup"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: On SQLite, a deleted event whose key is still only in a writer's memory (above
#: dedup_state.merged_id) leaves its key in event_keys, so an erased event's replay
#: stays a duplicate (retention deletes the key afterwards on purpose).
_TRIGGER = f"""
CREATE TRIGGER events_keep_key AFTER DELETE ON events
WHEN old.id > (SELECT merged_id FROM dedup_state)
BEGIN
    INSERT OR IGNORE INTO event_keys (bucket, app_id, event_id)
    VALUES ({bucket_sql('old."timestamp"', "old.received_at")}, old.app_id, old.event_id);
END
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    uuid_type = "BLOB" if sqlite else "UUID"
    suffix = " WITHOUT ROWID" if sqlite else ""
    op.execute(
        "CREATE TABLE event_keys_v2 (bucket BIGINT NOT NULL, app_id INTEGER NOT NULL, "
        f"event_id {uuid_type} NOT NULL, "
        f"CONSTRAINT event_keys_v2_pkey PRIMARY KEY (bucket, app_id, event_id)){suffix}"
    )
    op.execute(
        f"INSERT INTO event_keys_v2 SELECT {bucket_sql()}, app_id, event_id FROM events "
        "ORDER BY 1, 2, 3"
    )
    op.execute(
        f"INSERT INTO event_keys_v2 SELECT {LEGACY_BUCKET}, app_id, event_id FROM ("
        "SELECT app_id, event_id FROM event_keys EXCEPT SELECT app_id, event_id FROM events"
        ") AS gone ORDER BY 2, 3"
    )
    op.execute("DROP TABLE event_keys")
    op.execute("ALTER TABLE event_keys_v2 RENAME TO event_keys")
    if not sqlite:
        op.execute("ALTER TABLE event_keys RENAME CONSTRAINT event_keys_v2_pkey TO event_keys_pkey")
    op.execute("CREATE TABLE dedup_state (id INTEGER NOT NULL PRIMARY KEY, merged_id BIGINT NOT NULL)")
    op.execute("INSERT INTO dedup_state SELECT 1, COALESCE(MAX(id), 0) FROM events")
    if sqlite:
        op.execute(_TRIGGER)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    uuid_type = "BLOB" if sqlite else "UUID"
    suffix = " WITHOUT ROWID" if sqlite else ""
    if sqlite:
        op.execute("DROP TRIGGER events_keep_key")
    op.execute(
        f"CREATE TABLE event_keys_v1 (app_id INTEGER NOT NULL, event_id {uuid_type} NOT NULL, "
        f"CONSTRAINT event_keys_v1_pkey PRIMARY KEY (app_id, event_id)){suffix}"
    )
    # Every stored event's key (SQLite keeps the newest only in the writer's memory),
    # and the keys of events that are gone.
    op.execute(
        "INSERT INTO event_keys_v1 SELECT app_id, event_id FROM events "
        "UNION SELECT app_id, event_id FROM event_keys"
    )
    op.execute("DROP TABLE event_keys")
    op.execute("DROP TABLE dedup_state")
    op.execute("ALTER TABLE event_keys_v1 RENAME TO event_keys")
    if not sqlite:
        op.execute("ALTER TABLE event_keys RENAME CONSTRAINT event_keys_v1_pkey TO event_keys_pkey")
