"""The OpenAPI document matches the code, and fuzzing the API finds no server error."""

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_document_is_valid_and_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items()
                  for method in ops if method != "parameters"}
    routed = {(_openapi_path(rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and not rule.rule.startswith("/api/v1/openapi")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed, "no API routes found"
    assert routed == documented


def test_fuzzed_requests_never_cause_a_server_error(app, sample):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            # As a system caller: past sign-in, so the fuzz reaches the routes themselves.
            case.headers = {**(case.headers or {}), "X-Polku-Actor": "fuzzer"}
            response = case.call_and_validate(checks=[not_a_server_error])
            assert response.status_code != 401

        fuzz()
