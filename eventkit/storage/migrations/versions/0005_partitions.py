"""partitions: events partitioned by month of ts on PostgreSQL (SQLite unchanged)

Revision ID: 0005_partitions
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eventkit.storage.partitions import DEFAULT_PARTITION, add_months, month_of, create_partition
from eventkit.timeutil import now_us

revision: str = "0005_partitions"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Months of existing data given their own partitions (older rows go to the default).
_BACKFILL_MONTHS = 24
_AHEAD = 3


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER INDEX ix_events_app_ts RENAME TO ix_events_unpartitioned_app_ts")
    op.execute("ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey")
    # The arrival sequence survives the old table and keeps counting.
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (ts)"
    )
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id, ts)")
    op.execute("CREATE INDEX ix_events_app_ts ON events (app_id, ts)")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF events DEFAULT")
    now = now_us()
    oldest = conn.execute(sa.text("SELECT min(ts) FROM events_unpartitioned")).scalar()
    year, month = month_of(now)
    first = (year, month)
    if oldest is not None:
        first = min(first, max(add_months(year, month, -_BACKFILL_MONTHS), month_of(int(oldest))))
    k = 0
    while True:
        ym = add_months(first[0], first[1], k)
        create_partition(conn, *ym)
        if ym >= add_months(year, month, _AHEAD):
            break
        k += 1
    op.execute("INSERT INTO events SELECT * FROM events_unpartitioned ORDER BY id")
    op.execute("DROP TABLE events_unpartitioned")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER INDEX ix_events_app_ts RENAME TO ix_events_partitioned_app_ts")
    op.execute("ALTER TABLE events_partitioned RENAME CONSTRAINT events_pkey TO events_partitioned_pkey")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    op.execute("CREATE TABLE events (LIKE events_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id)")
    op.execute("CREATE INDEX ix_events_app_ts ON events (app_id, ts)")
    op.execute("INSERT INTO events SELECT * FROM events_partitioned ORDER BY id")
    op.execute("DROP TABLE events_partitioned")
