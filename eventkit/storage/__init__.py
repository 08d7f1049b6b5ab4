"""Storage: schema (SQLModel tables), engines, migrations and database-error mapping.

Nothing outside this package writes DDL."""
