"""Every service answers its errors, its own and the framework's, as one kind of problem document."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from runtime import problems
from runtime.problems import Problem, Reason


class Body(BaseModel):
    amount: int
    unit: str


def app() -> FastAPI:
    made = FastAPI()
    problems.install(made)

    @made.get("/refused")
    async def refused() -> None:
        raise Problem(403, "role_not_permitted", "Not allowed", "the role may not", "care_unit")

    @made.get("/several")
    async def several() -> None:
        raise problems.refusal(
            422,
            "Not valid",
            [
                Reason(code="negative_amount", field="fee_amount", message="below 0"),
                Reason(code="nothing_to_change", message="nothing"),
            ],
        )

    @made.get("/unauthenticated")
    async def unauthenticated() -> None:
        raise HTTPException(401, "who are you", headers={"WWW-Authenticate": "Certificate"})

    @made.post("/body")
    async def body(given: Body) -> None:
        return None

    return made


async def ask(method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://service") as http:
        return await http.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_a_problem_a_route_raises_names_its_code_in_the_type_and_its_field() -> None:
    response = await ask("GET", "/refused")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://efrikort.example/problems/role_not_permitted",
        "title": "Not allowed",
        "status": 403,
        "detail": "the role may not",
        "code": "role_not_permitted",
        "field": "care_unit",
    }


async def test_a_refusal_lists_every_reason_and_takes_the_first_as_its_own() -> None:
    problem = (await ask("GET", "/several")).json()
    assert (problem["code"], problem["field"]) == ("negative_amount", "fee_amount")
    assert problem["detail"] == "fee_amount: below 0; request: nothing"
    assert [r["code"] for r in problem["reasons"]] == ["negative_amount", "nothing_to_change"]


async def test_a_framework_error_is_a_problem_and_keeps_its_headers() -> None:
    response = await ask("GET", "/unauthenticated")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Certificate"
    assert response.json()["code"] == "unauthenticated" and response.json()["detail"] == "who are you"


async def test_an_invalid_body_names_each_field_and_never_the_value() -> None:
    response = await ask("POST", "/body", json={"amount": "19850412-1230"})
    assert response.status_code == 422
    problem = response.json()
    assert {(r["code"], r["field"]) for r in problem["reasons"]} == {
        ("invalid_value", "amount"),
        ("missing_field", "unit"),
    }
    assert problem["type"].endswith("/" + problem["code"])
    assert "19850412" not in response.text
