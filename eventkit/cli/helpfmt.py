"""Flags in ``--help`` look like flags.

Typer's Rich help prints every option's type, ``<bool>`` for ``--yes`` and
``--enable/--disable`` too, which reads as "needs a value" although a flag takes none
(click, argparse and Typer's plain help print no type for them). Options that are
flags show no type here; every other option keeps its ``<type>``.
``tests/cli/test_help.py`` walks every command's help and fails on a flag with one.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

__all__ = ["install"]

_original = TyperOption.display_type_rich


def _display_type_rich(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag and not self.count:
        return None
    return _original(self, ctx)


def install() -> None:
    """Use :func:`_display_type_rich` for every Typer option (idempotent)."""
    TyperOption.display_type_rich = _display_type_rich  # type: ignore[method-assign]
