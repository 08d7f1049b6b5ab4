"""``eventkit schema``: infer a plan from stored events, push, pull, diff and list
violations, through the real CLI on the parametrized database."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eventkit.cli.app import app
from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.tracking.infer import infer_plan
from eventkit.tracking.store import get_plan
from eventkit.tracking.validator import compile_plan
from tests.factories import make_event


def _seed(engine: Engine, app_id: int) -> list[dict[str, object]]:
    props: list[dict[str, object]] = [
        {"price": 10, "currency": "EUR", "coupon": "A"},
        {"price": 12.5, "currency": "USD"},
        {"price": 3, "currency": "EUR", "coupon": None},
    ]
    events = [make_event(app_id, "purchase", properties=p) for p in props]
    events += [make_event(app_id, "$screen", properties={"screen_name": "x"})]
    events += [make_event(app_id, "app_open", properties={}) for _ in range(2)]
    EventStore(engine).write(events)
    return props


def test_inferred_plan_accepts_the_events_it_came_from(engine: Engine) -> None:
    keys = create_app(engine, "shop")
    props = _seed(engine, keys.app_id)
    plan, counts = infer_plan(engine, keys.app_id, enum_max=3)
    assert counts == {"app_open": 2, "purchase": 3}
    schema = plan["events"]["purchase"]["schema"]
    assert schema["required"] == ["currency", "price"]
    assert schema["properties"]["price"] == {"type": "number"}
    assert schema["properties"]["coupon"] == {"type": ["null", "string"]}
    assert schema["properties"]["currency"] == {"type": "string", "enum": ["EUR", "USD"]}
    assert schema["additionalProperties"] is False
    compiled = compile_plan(plan, "enforce")
    assert all(compiled.check("purchase", p) == [] for p in props)
    assert compiled.check("purchase", {"price": 1, "currency": "EUR", "extra": 1}) != []


def test_schema_commands(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    keys = create_app(engine, "shop")
    _seed(engine, keys.app_id)
    runner = CliRunner()
    env = {"EVENTKIT_DATABASE_URL": settings.database_url}

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    plan_file = tmp_path / "plan.yaml"
    run("schema", "infer", "--app", "shop", "--output", str(plan_file))
    inferred = yaml.safe_load(plan_file.read_text())
    assert sorted(inferred["events"]) == ["app_open", "purchase"]
    assert "plan changes" in run("schema", "push", str(plan_file), "--app", "shop")
    assert get_plan(engine, keys.app_id).version == 1
    assert "unchanged" in run("schema", "push", str(plan_file), "--app", "shop")
    pulled = yaml.safe_load(run("schema", "pull", "--app", "shop"))
    assert pulled["events"] == inferred["events"]

    inferred["events"]["signup"] = {}
    del inferred["events"]["app_open"]
    plan_file.write_text(yaml.safe_dump(inferred))
    rows = json.loads(run("schema", "diff", str(plan_file), "--app", "shop", "-f", "json"))
    assert rows == [
        {"event": "app_open", "change": "removed"},
        {"event": "signup", "change": "added"},
    ]
    failed = runner.invoke(
        app, ["schema", "diff", str(plan_file), "--app", "shop", "--exit-code"], env=env
    )
    assert failed.exit_code == 1
    assert json.loads(run("schema", "violations", "--app", "shop", "-f", "json")) == []

    bad = tmp_path / "bad.yaml"
    bad.write_text("events: {a: {schema: {type: 3}}}")
    result = runner.invoke(app, ["schema", "push", str(bad), "--app", "shop"], env=env)
    assert result.exit_code == 1
    assert "events.a.schema.type is invalid" in result.stderr
