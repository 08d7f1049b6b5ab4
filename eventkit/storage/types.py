"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSONDoc", "UUIDBytes", "json_dumps", "json_loads"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def json_dumps(value: Any) -> str:
    """Compact JSON text (msgspec: fast, and the same bytes every time)."""
    return _encoder.encode(value).decode()


def json_loads(text: str | bytes) -> Any:
    """Parse JSON text."""
    return _decoder.decode(text)


class UUIDBytes(TypeDecorator[uuid.UUID]):
    """A UUID: 16-byte BLOB on SQLite, native ``uuid`` on PostgreSQL."""

    impl = LargeBinary(16)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(UUID(as_uuid=True))
        return dialect.type_descriptor(LargeBinary(16))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            value = uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))
        return value if dialect.name == "postgresql" else value.bytes

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None:
            return None
        if isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(bytes=bytes(value))


class JSONDoc(TypeDecorator[Any]):
    """A JSON document: TEXT on SQLite (json_extract works on it), JSONB on PostgreSQL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value
        return value if isinstance(value, str) else json_dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str | bytes):
            return json_loads(value)
        return value
