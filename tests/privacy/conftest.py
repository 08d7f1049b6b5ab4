"""Settings with instant policy refresh (tests/instant_policies.py)."""

from tests.instant_policies import engine, settings

__all__ = ["engine", "settings"]
