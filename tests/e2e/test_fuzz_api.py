"""Bad input: schemathesis generates requests for every operation of the OpenAPI schema
(/schema/openapi.json) of a real server; none may answer 5xx or hang.

Both valid (positive) and schema-violating (negative) requests are sent, with the app's
secret key (which may call every endpoint). ``FUZZ_EXAMPLES`` sets the examples per
operation and mode (100 in CI; ``make fuzz`` runs 1000).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
TIMEOUT = 15  # seconds: an answer slower than this is a hang


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Fuzzing sends many unauthorised-looking requests from one address, and erases
    # many generated users: no propagation wait (3 s by default) per erasure.
    return {
        "EVENTKIT_RATE_LIMITS__AUTH_FAILURES_PER_MINUTE": "0",
        "EVENTKIT_PRIVACY__PROPAGATION_SECONDS": "0",
    }


def test_no_generated_request_gets_a_5xx_or_hangs(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.secret_key}"
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, session=session, timeout=TIMEOUT)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE
    total = sum(statuses.values())
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(f"fuzz: {operations} operations, {total} requests, {server_errors} 5xx, {statuses}")
    assert operations >= 5
    assert not failures, "\n".join(failures[:20])
