"""Tables of the browser dashboard: members, their apps, share links and sign-in
sessions (docs/web.md). Part of the schema declared in ``eventkit.storage.models``, which
re-exports them; instants are integer epoch microseconds."""

from __future__ import annotations

from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlmodel import Field, SQLModel

from eventkit.storage.types import JSONDoc

__all__ = [
    "MEMBERS",
    "MEMBER_APPS",
    "SHARE_LINKS",
    "WEB_SESSIONS",
    "Member",
    "MemberApp",
    "ShareLink",
    "WebSession",
]


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- the browser dashboard: members, sign-ins, share links (docs/web.md) ---


def _fk(table: str, nullable: bool = False) -> Column[int]:
    return Column(Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable)


class Member(SQLModel, table=True):
    """A person who signs in to the dashboard. Passwords are stored as scrypt hashes;
    a one-time sign-in link as the SHA-256 of its random token."""

    __tablename__ = "members"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))  # viewer|editor|admin
    #: True: every app, present and future; False: only the apps in member_apps.
    all_apps: bool = Field(sa_column=Column(Boolean, nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    invite_hash: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, unique=True)
    )
    invite_expires_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    failed_logins: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    locked_until: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    last_login_at: int | None = Field(default=None, sa_column=Column(BigInteger))


class MemberApp(SQLModel, table=True):
    """An app a member limited to some apps may see."""

    __tablename__ = "member_apps"

    member_id: int = Field(sa_column=Column(Integer, ForeignKey("members.id", ondelete="CASCADE"),
                                            primary_key=True))  # fmt: skip
    app_id: int = Field(sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"),
                                         primary_key=True))  # fmt: skip


class ShareLink(SQLModel, table=True):
    """A read-only link to some pages of one app, for people without an account."""

    __tablename__ = "share_links"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    prefix: str = Field(sa_column=Column(String(32), nullable=False))
    app_id: int = Field(sa_column=_fk("apps"))
    pages: list[str] = Field(default_factory=list, sa_column=Column(JSONDoc, nullable=False))
    #: The query string the link opens with (date range, steps, ...).
    query: str = Field(default="", sa_column=Column(String(2000), nullable=False))
    label: str = Field(default="", sa_column=Column(String(200), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    revoked_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    last_used_at: int | None = Field(default=None, sa_column=Column(BigInteger))


class WebSession(SQLModel, table=True):
    """A signed-in browser: a member's sign-in, or an unlocked password-protected share
    link. Only the SHA-256 of the cookie's random value is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_member", "member_id"),
        Index("ix_web_sessions_share", "share_id"),
    )

    id_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    member_id: int | None = Field(default=None, sa_column=_fk("members", nullable=True))
    share_id: int | None = Field(default=None, sa_column=_fk("share_links", nullable=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seen_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    address: str = Field(default="", sa_column=Column(String(64), nullable=False))
    user_agent: str = Field(default="", sa_column=Column(String(200), nullable=False))


MEMBERS = _table(Member)
MEMBER_APPS = _table(MemberApp)
SHARE_LINKS = _table(ShareLink)
WEB_SESSIONS = _table(WebSession)
