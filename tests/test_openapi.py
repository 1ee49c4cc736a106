"""The OpenAPI document of /api/v1: valid, complete against the URL map, and honoured by the app.

Schemathesis generates requests for every operation from the document and sends them to the
application in-process (WSGI), as a grassroots asker, the assigned expert and an administrator, with
a real question and answer in the database so that generated calls also reach the services.
"""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from qa import create_app
from qa.api.openapi import build_document
from qa.app_setup import ERROR_CODES
from qa.services.accounts import create_api_token
from qa.services.answers import post_answer
from qa.timeutil import china_today
from tests.factories import make_question

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
          negative_data_rejection]


def _api_rules(app) -> set[tuple[str, str]]:
    """(path relative to /api/v1 in OpenAPI notation, method) for every /api/v1 rule."""
    rules = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            path = re.sub(r"\{[^(}]+\(.*?\):", "{", path)  # <int(max=…):answer_id>
            rules |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return rules


def test_document_is_valid_openapi(app):
    schemathesis.openapi.from_dict(build_document(app.config)).validate()  # against the OpenAPI 3.0 schema


def test_every_route_is_documented_and_nothing_else(app):
    document = build_document(app.config)
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == _api_rules(app)


def test_limits_come_from_the_configuration(app):
    app.config["QA_TITLE_MAX"] = 80
    ask = build_document(app.config)["paths"]["/questions"]["post"]
    properties = ask["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert properties["title"]["maxLength"] == 80
    assert properties["category"]["enum"][0] == "criminal"


def test_document_needs_a_token_and_is_served_as_json(client, people):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _token, raw = create_api_token(None, people["asker"], "test")
    response = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = response.get_json()
    assert document["info"]["title"] == "检答 JSON API"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_error_code_is_in_the_document(app):
    codes = build_document(app.config)["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert set(ERROR_CODES.values()) <= set(codes["code"]["enum"])


# Schemathesis ---------------------------------------------------------------------------------


def _document_with_examples() -> dict:
    """The document for the default configuration, with the first question and answer of a fresh
    database (made by the `world` fixture) as the examples of the path parameters."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    document = build_document(app.config)
    examples = {"number": FIRST_NUMBER, "answer_id": 1}
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return document


FIRST_NUMBER = f"JD{china_today().year}-110105-00001"
schema = schemathesis.openapi.from_dict(_document_with_examples())
# The bearer token is always the role's real one (tests/test_api.py covers missing and bad tokens).
schema.config.generation.update(with_security_parameters=False)


@pytest.fixture
def world(people):
    """A database holding an answered question (the examples above) and a pending one; the
    bearer token of each role."""
    question = make_question(people["asker"])
    answer = post_answer(people["city_expert"], question, "依据《刑法》第一百三十三条之一，构成危险驾驶罪。")
    assert (question.number, answer.id) == (FIRST_NUMBER, 1)
    make_question(people["asker"], title="第二个问题：待认领的问题如何处理？")
    return {role: create_api_token(None, user, "schemathesis")[1] for role, user in people.items()}


def run_case(case, app, tokens, role: str) -> None:
    """Send the generated request in-process (WSGI) as `role`; no server errors, and every status
    code, content type and body is the documented one."""
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {tokens[role]}"}, checks=CHECKS)


# Every operation as the grassroots asker; as the other roles, the operations they are there for.
EXPERT_OPERATIONS = ["question", "answer", "inbox", "claim", "transfer", "decline", "escalate", "similar"]
BOUNDED = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@schema.parametrize()
@BOUNDED
def test_api_honours_its_document_as_asker(case, app, world):
    run_case(case, app, world, "asker")


@schema.include(operation_id=EXPERT_OPERATIONS).parametrize()
@BOUNDED
def test_api_honours_its_document_as_expert(case, app, world):
    run_case(case, app, world, "city_expert")


@schema.include(operation_id=["rate"]).parametrize()
@BOUNDED
def test_api_honours_its_document_as_moderator(case, app, world):
    run_case(case, app, world, "moderator")


@schema.include(operation_id=["canonical", "statistics", "escalate", "search"]).parametrize()
@BOUNDED
def test_api_honours_its_document_as_admin(case, app, world):
    run_case(case, app, world, "admin")


# Output safety of every kind of JSON response (S29, S30) -------------------------------------------


def test_json_responses_carry_json_type_nosniff_and_no_traces(app, client, people):
    """Success, each kind of error and an unexpected exception: JSON, nosniff, not cached, no trace."""
    def boom():
        raise RuntimeError("secret detail /work/main/qa/api/views.py SELECT * FROM user")

    app.add_url_rule("/api/v1-test/boom", "boom", boom)  # a real exception through the real handlers
    _token, raw = create_api_token(None, people["asker"], "headers")
    bearer = {"Authorization": f"Bearer {raw}"}
    calls = {
        200: client.get("/api/v1/categories", headers=bearer),
        400: client.post("/api/v1/questions", data=b"{not json", content_type="application/json", headers=bearer),
        401: client.get("/api/v1/inbox"),
        404: client.get("/api/v1/questions/JD2026-110105-99999", headers=bearer),
        405: client.delete("/api/v1/categories", headers=bearer),
        422: client.post("/api/v1/questions", json={"title": ""}, headers=bearer),
        500: client.get("/api/v1-test/boom"),
    }
    for status, response in calls.items():
        assert response.status_code == status
        assert response.mimetype == "application/json" and response.is_json
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        text = response.get_data(as_text=True)
        for leak in ("Traceback", "File \"", "RuntimeError", "secret detail", "SELECT", "/work/"):
            assert leak not in text, (status, text)
    error = calls[500].get_json()["error"]
    assert error["code"] == "internal_error" and error["correlation_id"] == calls[500].headers["X-Correlation-Id"]
