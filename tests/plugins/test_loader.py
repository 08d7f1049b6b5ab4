"""Discovery and loading: entry points, plugins_dir files, enable/disable, failures."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventkit.config import PluginSettings
from eventkit.plugins.manager import build_plugin_manager, plugin_infos
from eventkit.plugins.stats import stats
from tests.plugins.conftest import Use
from tests.plugins.fixtures import extras

GOOD = """
from eventkit.plugins.hookspecs import hookimpl

@hookimpl
def eventkit_validate_event(event):
    return None

@hookimpl
def eventkit_startup(settings):
    pass
"""
OFF_BY_DEFAULT = """
from eventkit.plugins.hookspecs import hookimpl
EVENTKIT_DEFAULT_ENABLED = False

@hookimpl
def eventkit_events_stored(events):
    pass
"""


@pytest.fixture
def plugins_dir(tmp_path: Path) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "good.py").write_text(GOOD)
    (d / "broken.py").write_text("import no_such_module_for_eventkit_tests\n")
    (d / "badhook.py").write_text(
        "from eventkit.plugins.hookspecs import hookimpl\n"
        "@hookimpl\ndef eventkit_startup(nonsense):\n    pass\n"
    )
    (d / "optin.py").write_text(OFF_BY_DEFAULT)
    (d / "_private.py").write_text("raise SystemExit('never imported')\n")
    (d / "notes.txt").write_text("not a plugin")
    return d


def _by_name(pm: object) -> dict[str, object]:
    return {i.name: i for i in plugin_infos(pm)}  # type: ignore[arg-type]


def test_plugins_dir_loads_files_and_isolates_failures(
    plugins_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stats.reset()
    with caplog.at_level(logging.ERROR, logger="eventkit.plugins"):
        pm = build_plugin_manager(PluginSettings(dir=str(plugins_dir)), entry_points_on=False)
    infos = _by_name(pm)
    assert sorted(n for n in infos if not n.startswith("eventkit.")) == [
        "badhook", "broken", "good", "optin"
    ]  # fmt: skip
    good = infos["good"]
    assert (good.source, good.location, good.enabled, good.error) == (  # type: ignore[attr-defined]
        "file", str(plugins_dir / "good.py"), True, None
    )  # fmt: skip
    assert good.hooks == ["eventkit_startup", "eventkit_validate_event"]  # type: ignore[attr-defined]
    broken = infos["broken"]
    assert not broken.enabled  # type: ignore[attr-defined]
    assert "no_such_module_for_eventkit_tests" in broken.error  # type: ignore[attr-defined]
    assert "nonsense" in infos["badhook"].error  # type: ignore[attr-defined]
    assert infos["optin"].enabled is False and infos["optin"].error is None  # type: ignore[attr-defined]
    assert stats.snapshot()[0] == {("broken", "load"): 1, ("badhook", "load"): 1}
    assert "plugin 'broken'" in caplog.text
    # Built-ins load as before, and only the good file joined them.
    assert pm.has_plugin("eventkit.builtins.sessions") and pm.has_plugin("good")
    assert not pm.has_plugin("broken") and not pm.has_plugin("optin")
    stats.reset()


def test_enable_and_disable_by_name(plugins_dir: Path) -> None:
    settings = PluginSettings(
        dir=str(plugins_dir),
        enable=["optin"],
        disable=["broken", "badhook", "eventkit.builtins.flags"],
    )
    pm = build_plugin_manager(settings, entry_points_on=False)
    infos = _by_name(pm)
    assert infos["optin"].enabled and pm.has_plugin("optin")  # type: ignore[attr-defined]
    for name in ("broken", "badhook", "eventkit.builtins.flags"):
        info = infos[name]
        assert (info.enabled, info.error) == (False, None), name  # type: ignore[attr-defined]
        assert not pm.has_plugin(name)
    assert pm.has_plugin("eventkit.builtins.sessions")


def test_entry_points_with_their_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    dist = site / "eventkit_fake-2.5.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: eventkit-fake\nVersion: 2.5\n")
    (dist / "entry_points.txt").write_text(
        "[eventkit]\nfake = eventkit_fake_plugin\nmissing = eventkit_no_such_plugin_module\n"
    )
    (site / "eventkit_fake_plugin.py").write_text(GOOD)
    monkeypatch.syspath_prepend(str(site))
    stats.reset()
    pm = build_plugin_manager(PluginSettings(enable=["webhook"]), entry_points_on=True)
    infos = _by_name(pm)
    fake = infos["fake"]
    assert fake.source == "entry point" and fake.enabled  # type: ignore[attr-defined]
    assert fake.location == "eventkit_fake_plugin (eventkit-fake 2.5)"  # type: ignore[attr-defined]
    assert "eventkit_no_such_plugin_module" in infos["missing"].error  # type: ignore[attr-defined]
    # The bundled plugins are entry points of eventkit itself: export is on by default,
    # the others only when enabled.
    assert infos["export"].enabled and infos["export"].location.startswith(  # type: ignore[attr-defined]
        "eventkit_export (eventkit "
    )
    assert infos["webhook"].enabled  # type: ignore[attr-defined]
    assert not infos["uaparser"].enabled and not infos["geoip"].enabled  # type: ignore[attr-defined]
    assert pm.has_plugin("fake") and not pm.has_plugin("missing")
    stats.reset()


def test_plugins_list_command(use_plugins: Use) -> None:
    from eventkit.cli.app import app

    use_plugins(extras)
    result = CliRunner().invoke(app, ["plugins", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["eventkit.builtins.sessions"]["source"] == "builtin"
    assert rows["extras"]["source"] == "registered"
    assert "eventkit_reports" in rows["extras"]["hooks"]
    table = CliRunner().invoke(app, ["plugins", "list"], env={"COLUMNS": "200"})
    assert "extras" in table.output and "registered" in table.output


def test_bundled_plugin_commands_are_documented() -> None:
    """tests/test_docs.py sees the CLI without installed plugins; these are checked here."""
    import typer
    import typer.main

    import eventkit_export
    import eventkit_webhook

    app = typer.Typer()
    app.command("noop")(lambda: None)
    eventkit_export.eventkit_cli_commands(app)
    eventkit_webhook.eventkit_cli_commands(app)
    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if not subs:
            names.append(name)
            continue
        for sub, sub_cmd in subs.items():
            subsubs = getattr(sub_cmd, "commands", None)
            names += [f"{name} {sub} {s}" for s in subsubs] if subsubs else [f"{name} {sub}"]
    text = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    assert {"export", "webhook deadletter list", "webhook deadletter replay"} <= set(names)
    for name in names:
        if name != "noop":
            assert f"eventkit {name}" in text, name


def test_plugin_settings_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventkit.config import load_settings
    from eventkit.errors import ConfigError
    from eventkit.plugins import manager

    config = tmp_path / "ek.toml"
    config.write_text('[plugins]\nenable = ["geoip"]\n\n[plugins.geoip]\ndatabase = "/x.mmdb"\n')
    s = load_settings(config, environ={"EVENTKIT_PLUGINS__DISABLE": "export, webhook"})
    assert s.plugins.enable == ["geoip"] and s.plugins.disable == ["export", "webhook"]
    assert s.plugins.options("geoip") == {"database": "/x.mmdb"}
    assert s.plugins.options("nothing") == {}
    with pytest.raises(ConfigError, match=r"plugin options go in a table.*\[plugins.enabel\]"):
        load_settings(environ={"EVENTKIT_PLUGINS__ENABEL": "geoip"})
    # The CLI reads [plugins] from --config before Typer parses it.
    monkeypatch.setattr(manager.sys, "argv", ["/venv/bin/eventkit", "-c", str(config), "export"])
    assert manager._argv_config() == config
    assert manager._plugin_settings().enable == ["geoip"]
    monkeypatch.setattr(manager.sys, "argv", ["eventkit", "export", "--config", "no.toml"])
    assert manager._argv_config() is None  # an option of the command, not the root's
    monkeypatch.setattr(manager.sys, "argv", ["pytest", "-c", str(config)])
    assert manager._argv_config() is None
