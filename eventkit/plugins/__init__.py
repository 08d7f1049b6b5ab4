"""Plugin system (pluggy). Hook specifications live in :mod:`eventkit.plugins.hookspecs`."""
