"""The docs are part of the feature: these fail when something is undocumented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from eventkit.cli.app import app as cli_app
from eventkit.config import Settings, load_settings, masked
from eventkit.plugins import hookspecs

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


def _keys(data: dict[str, object], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += _keys(value, f"{prefix}{key}.")
        else:
            out.append(prefix + key)
    return out


def _cli_commands() -> list[str]:
    group = typer.main.get_command(cli_app)
    names = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            names += [f"{name} {s}" for s in sub]
        else:
            names.append(name)
    return names


@pytest.mark.parametrize("key", _keys(masked(load_settings(environ={}))))
def test_every_config_key_is_documented(key: str) -> None:
    section, _, name = key.rpartition(".")
    text = (DOCS / "configuration.md").read_text()
    assert f"`{key}`" in text or (section and f"`{name}`" in text and f"[{section}]" in text), (
        f"docs/configuration.md does not document {key}"
    )


def test_settings_fields_have_descriptions_or_docs() -> None:
    assert Settings.model_fields["database_url"].description


@pytest.mark.parametrize("command", _cli_commands())
def test_every_cli_command_is_documented(command: str) -> None:
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *DOCS.glob("*.md")])
    assert f"eventkit {command}" in text, f"no doc mentions `eventkit {command}`"


@pytest.mark.parametrize("hook", [n for n in dir(hookspecs) if n.startswith("eventkit_")])
def test_every_hook_is_documented(hook: str) -> None:
    text = (DOCS / "plugins.md").read_text()
    assert re.search(rf"^##+ `?{hook}`?", text, re.M), f"docs/plugins.md lacks a {hook} heading"


@pytest.mark.parametrize(
    "path", ["/v1/events", "/v1/identify", "/healthz", "/readyz", "/metrics", "/schema"]
)
def test_every_endpoint_is_documented(path: str) -> None:
    assert path in (DOCS / "mobile_api.md").read_text()


def test_docs_index_links_resolve() -> None:
    index = (DOCS / "README.md").read_text()
    for target in re.findall(r"\]\(\.?/?([\w./-]+\.md)\)", index):
        assert (DOCS / target).exists() or (ROOT / target).exists(), f"broken link {target}"


def _planned_section(text: str) -> str:
    """The "Planned" section of the docs index (up to the next heading of its level or
    higher)."""
    match = re.search(r"^(#+) Planned\n(.*?)(?=^#{1,3} |\Z)", text, re.M | re.S)
    return match.group(2) if match else ""


def _named_pages(text: str) -> set[str]:
    """Every ``page.md`` a text names as the planned page (in backticks; links to
    existing pages, "until then, see …", are fine)."""
    return set(re.findall(r"`([\w-]+\.md)`", text))


def test_nothing_planned_already_exists() -> None:
    """A "planned" page must not exist yet: the docs index lists it under its section,
    and no line anywhere calls an existing page *planned*."""
    index = (DOCS / "README.md").read_text()
    existing = {p.name for p in DOCS.glob("*.md")}
    stale = _named_pages(_planned_section(index)) & existing
    for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for line in path.read_text().splitlines():
            for page in re.findall(r"`([\w-]+\.md)`\)?:? \*planned\*", line):
                if page in existing:
                    stale.add(page)
    assert not stale, f"called planned but written: {sorted(stale)}; move them to their section"


def test_the_planned_check_sees_a_stale_entry() -> None:
    stale = "### Planned\n\n- Security (`security.md`): *planned*.\n\n## Next\n"
    assert _named_pages(_planned_section(stale)) == {"security.md"}
    assert _named_pages(_planned_section("### Planned\n\n- SDKs.\n\n## Next\n")) == set()
