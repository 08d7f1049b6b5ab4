"""The command line (Typer + Rich): one module per command group."""

from eventkit.cli import helpfmt

helpfmt.install()
