"""eventkit's built-in features, registered as plugins through the same hooks as
third-party ones (datasette's pattern). This package is the one place where the
shells (HTTP routes, CLI commands) and the scheduled jobs are attached to the domain
services; the domain packages themselves import no framework and no shell.

One module per feature area, listed in ``eventkit.plugins.manager.DEFAULT_PLUGINS``;
``plugins.disable`` can switch one off by its module name (e.g.
``eventkit.builtins.vendors`` removes the vendor SDK routes).
"""
