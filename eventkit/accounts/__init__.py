"""Accounts of the browser dashboard: members with roles, their sign-ins, and
read-only share links (docs/web.md). Pure domain code: no web framework here; the
dashboard (``eventkit.web``) and the CLI (``eventkit members``, ``eventkit share``)
present it."""

from eventkit.accounts.access import PAGES, ROLES, SHAREABLE_PAGES, Principal
from eventkit.accounts.members import MemberInfo, authenticate
from eventkit.accounts.shares import ShareInfo

__all__ = [
    "PAGES",
    "ROLES",
    "SHAREABLE_PAGES",
    "MemberInfo",
    "Principal",
    "ShareInfo",
    "authenticate",
]
