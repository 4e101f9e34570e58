"""Page answer times of the desk: its main pages asked one after another by one signed-in person, with the
stack otherwise idle. What a person at the desk waits for, not a load test."""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx

from contracts.clock import today_in_sweden
from contracts.identity import with_check_digit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class PageTimes:
    """The answer times of one page, in milliseconds."""

    page: str
    times_ms: list[float]

    def percentile(self, p: int) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def report(self) -> str:
        return (
            f"{self.page:<30} n={len(self.times_ms):<4} p50 {self.percentile(50):6.1f} ms  "
            f"p95 {self.percentile(95):6.1f} ms  max {max(self.times_ms):6.1f} ms"
        )


def signed_in(base_url: str, person: str, unit: str) -> tuple[httpx.Client, str]:
    """A client signed in through the development sign-in and acting for `unit`, and its CSRF token."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=True)
    token = CSRF.search(client.get("/sign-in").text)
    if token is None:
        raise RuntimeError("no development sign-in at the desk: is it in development mode?")
    client.post("/sign-in", data={"hsa_id": person, "csrf_token": token.group(1)}).raise_for_status()
    client.post("/units", data={"care_unit": unit, "csrf_token": token.group(1)}).raise_for_status()
    return client, token.group(1)


def timed(
    client: httpx.Client, method: str, path: str, data: dict[str, str] | None = None, *, htmx: bool = False
) -> float:
    headers = {"HX-Request": "true"} if htmx else {}
    started = time.perf_counter()
    response = client.request(method, path, data=data, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path} answered {response.status_code}")
    return elapsed


def bench_desk(base_url: str, person: str, unit: str, rounds: int) -> list[PageTimes]:
    """`rounds` times each main page: home, patient lookup, quote (as htmx asks for it), overcharges."""
    client, token = signed_in(base_url, person, unit)
    patient = with_check_digit("19700101123")
    visit = {
        "csrf_token": token,
        "patient_id": patient,
        "visit_date": (today_in_sweden() - timedelta(days=1)).isoformat(),
        "fee_type": "doctor_visit",
        "fee_amount": "300",
        "source": "visit",
    }
    pages: dict[str, list[float]] = {
        "GET /": [],
        "POST /patient": [],
        "POST /patient/quote": [],
        "GET /overcharges": [],
    }
    with client:
        for _ in range(rounds):
            pages["GET /"].append(timed(client, "GET", "/"))
            pages["POST /patient"].append(
                timed(client, "POST", "/patient", {"csrf_token": token, "patient_id": patient})
            )
            pages["POST /patient/quote"].append(timed(client, "POST", "/patient/quote", visit))
            pages["GET /overcharges"].append(timed(client, "GET", "/overcharges"))
    return [PageTimes(page, times) for page, times in pages.items()]


def overall(results: list[PageTimes]) -> PageTimes:
    return PageTimes("all pages", [t for r in results for t in r.times_ms])


def summary(results: list[PageTimes]) -> str:
    every = overall(results)
    return "\n".join(
        [*(r.report() for r in results), every.report(), f"mean {statistics.fmean(every.times_ms):.1f} ms"]
    )
