"""Property-based test of registration's published OpenAPI (schemathesis): whatever a client sends,
valid by the schema or not, the service never answers with a server error.

The operations' strategies are driven by Hypothesis directly (schemathesis' pytest plugin does not
yet run under pytest 9)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from efrikort.services import ServiceProcess
from tests.e2e.registration_actors import Directory

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION_AND_MODE = 30


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_request_makes_a_server_error(
    mode: schemathesis.GenerationMode, services: dict[str, ServiceProcess], directory: Directory
) -> None:
    base_url = services["registration"].url
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith("/v1/")]
    assert {op.label for op in operations} >= {
        "POST /v1/fees",
        "PATCH /v1/fees/{fee_id}",
        "GET /v1/submissions/{submission_id}/outcome",
    }
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: schemathesis.Case) -> None:
            # As the test directory's user: past authentication, so generated bodies reach the rules.
            response = case.call(base_url=base_url, headers={"X-HSA-ID": directory.user}, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {response.status_code}")

        try:
            no_server_error()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid (no body, only free-text parameters).
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    assert failures == []
