"""Cohorts: saved groups of users defined by behaviour and profile properties,
materialized by a refresh job, usable as a filter on every report and as the
``in_cohort`` flag-targeting operator (docs/reports.md#cohorts)."""

from eventkit.cohorts.spec import CohortSpec, parse_spec, spec_from_options
from eventkit.cohorts.store import (
    CohortInfo,
    RefreshResult,
    create_cohort,
    delete_cohort,
    get_cohort,
    iter_members,
    list_cohorts,
    refresh_all,
    refresh_cohort,
)

__all__ = [
    "CohortInfo",
    "CohortSpec",
    "RefreshResult",
    "create_cohort",
    "delete_cohort",
    "get_cohort",
    "iter_members",
    "list_cohorts",
    "parse_spec",
    "refresh_all",
    "refresh_cohort",
    "spec_from_options",
]
