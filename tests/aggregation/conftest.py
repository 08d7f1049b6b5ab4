from tests.reports.conftest import add_late, agg, sim_engine  # noqa: F401
