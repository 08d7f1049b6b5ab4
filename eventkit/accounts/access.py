"""Who may do what in the dashboard: roles, pages, and the signed-in principal.

Every web route asks this module, never its own ``if``: a member's role and apps, or a
share link's one app and pages (docs/web.md has the matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "PAGES",
    "ROLES",
    "SHAREABLE_PAGES",
    "Action",
    "Principal",
    "Role",
    "check_pages",
    "check_role",
]

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
#: viewer reads; editor also changes flags and experiments; admin also manages members,
#: keys and share links.
Action = Literal["read", "edit", "admin"]
_RANK = {"viewer": 0, "editor": 1, "admin": 2}
_NEEDS = {"read": 0, "edit": 1, "admin": 2}

#: The pages of one app, in the order of the navigation.
PAGES: tuple[str, ...] = (
    "overview",
    "trends",
    "funnels",
    "retention",
    "sessions",
    "live",
    "users",
    "flags",
    "experiments",
)
#: Pages a share link may show: aggregates only, no people, no raw events, no flags.
SHAREABLE_PAGES: tuple[str, ...] = (
    "overview",
    "trends",
    "funnels",
    "retention",
    "sessions",
    "experiments",
)


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`ROLES`.

    Raises:
        ValueError: with the accepted roles.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role  # type: ignore[return-value]


def check_pages(pages: list[str]) -> list[str]:
    """``pages`` without duplicates, if each may be shared.

    Raises:
        ValueError: an unknown or unshareable page, or none.
    """
    if not pages:
        raise ValueError(f"name at least one page: {', '.join(SHAREABLE_PAGES)}")
    for p in pages:
        if p not in SHAREABLE_PAGES:
            why = "is not a page" if p not in PAGES else "shows people or raw events"
            raise ValueError(
                f"page {p!r} {why}; a share link can show {', '.join(SHAREABLE_PAGES)}"
            )
    return list(dict.fromkeys(pages))


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a member (signed in, or through the trusted proxy
    header) or a share link."""

    kind: Literal["member", "share"]
    #: The member's name; for a share link ``share:<prefix>`` (never shown to its viewers).
    name: str
    role: Role
    #: The apps this principal may see; None: every app.
    app_ids: frozenset[int] | None
    #: The pages it may see; None: every page.
    pages: frozenset[str] | None = None
    member_id: int | None = None
    share_id: int | None = None
    #: The web session (hash) behind the request, if any.
    session_hash: str | None = None

    @property
    def is_share(self) -> bool:
        """True for a share link: read-only, one app, no people."""
        return self.kind == "share"

    @property
    def actor(self) -> str:
        """How audit histories name this principal's changes."""
        return f"web:{self.name}"

    def can(self, action: Action) -> bool:
        """True when the role allows ``action`` (a share link only reads)."""
        if self.is_share:
            return action == "read"
        return _RANK[self.role] >= _NEEDS[action]

    def sees_app(self, app_id: int) -> bool:
        """True when the principal may see app ``app_id`` at all."""
        return self.app_ids is None or app_id in self.app_ids

    def sees_page(self, page: str) -> bool:
        """True when the principal may open ``page`` of a visible app."""
        return self.pages is None or page in self.pages
