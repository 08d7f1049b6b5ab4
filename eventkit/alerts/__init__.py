"""Alerts and digests: rules on trends, active users, funnels and release health,
judged on complete buckets exactly once across nodes, sent by email, Slack and the
signed webhook with retries and a dead-letter list (docs/alerts.md).

Domain code only: the shells (CLI, API) and the scheduler (eventkit/builtins) call
these functions and present their results.
"""

from eventkit.alerts.jobs import preview_digest, run_alerts_job, send_test
from eventkit.alerts.spec import AlertSpec, Condition, Destination, DigestSpec, Metric, parse_spec
from eventkit.alerts.store import (
    Delivery,
    Rule,
    Run,
    create_rule,
    delete_rule,
    get_rule,
    list_deliveries,
    list_rules,
    list_runs,
    redeliver,
    set_paused,
)

__all__ = [
    "AlertSpec",
    "Condition",
    "Delivery",
    "Destination",
    "DigestSpec",
    "Metric",
    "Rule",
    "Run",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_deliveries",
    "list_rules",
    "list_runs",
    "parse_spec",
    "preview_digest",
    "redeliver",
    "run_alerts_job",
    "send_test",
    "set_paused",
]
