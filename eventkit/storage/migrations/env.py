"""Alembic environment. Run through ``eventkit db upgrade`` (``eventkit.storage.migrate``)."""

from __future__ import annotations

from alembic import context

from eventkit.storage.models import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # pragma: no cover - eventkit always passes a connection
    raise RuntimeError("run migrations with `eventkit db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
