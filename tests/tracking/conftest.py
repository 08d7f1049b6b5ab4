"""Settings with instant policy refresh (tests/instant_policies.py)."""

from tests.instant_policies import settings

__all__ = ["settings"]
