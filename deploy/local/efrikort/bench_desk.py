"""Page answer times of the desk: its main pages asked one after another by one signed-in person, with the
stack otherwise idle. What a person at the desk waits for, not a load test."""

from __future__ import annotations

import random
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
    """A client signed in through the development sign-in and acting for `unit`, and its CSRF token (signing
    in starts a new session, with a new token)."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=True)
    units = client.post("/sign-in", data={"hsa_id": person, "csrf_token": _token(client.get("/sign-in").text)})
    token = _token(units.raise_for_status().text)
    client.post("/units", data={"care_unit": unit, "csrf_token": token}).raise_for_status()
    return client, token


def _token(page: str) -> str:
    found = CSRF.search(page)
    if found is None:
        raise RuntimeError("no form on the desk's page: is it in development mode, and is the person known?")
    return found.group(1)


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


def _fee(token: str, patient: str, days_ago: int) -> dict[str, str]:
    return {
        "csrf_token": token,
        "patient_id": patient,
        "visit_date": (today_in_sweden() - timedelta(days=days_ago)).isoformat(),
        "fee_type": "doctor_visit",
        "fee_amount": "300",
        "source": "visit",
    }


def bench_desk(base_url: str, person: str, unit: str, rounds: int) -> list[PageTimes]:
    """`rounds` times each main page: home, patient lookup, quote (as htmx asks for it), overcharges; the
    patient a new one with four fees that reached the free card."""
    client, token = signed_in(base_url, person, unit)
    born = f"1970{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
    patient = with_check_digit(f"{born}{random.randint(0, 999):03d}")
    for days in (40, 30, 20, 10):
        # A patient with a period's fees and a free card, as the desk usually shows one.
        fee = {**_fee(token, patient, days), "fee_amount": "400"}
        client.post("/patient/fees", data=fee).raise_for_status()
    visit = _fee(token, patient, 1)
    lookup = {"csrf_token": token, "patient_id": patient}
    pages: dict[str, list[float]] = {"GET /": [], "POST /patient": [], "POST /patient/quote (htmx)": []}
    pages["GET /overcharges"] = []
    try:
        for _ in range(rounds):
            pages["GET /"].append(timed(client, "GET", "/"))
            pages["POST /patient"].append(timed(client, "POST", "/patient", lookup))
            pages["POST /patient/quote (htmx)"].append(timed(client, "POST", "/patient/quote", visit, htmx=True))
            pages["GET /overcharges"].append(timed(client, "GET", "/overcharges"))
    finally:
        client.close()
    return [PageTimes(page, times) for page, times in pages.items()]


def overall(results: list[PageTimes]) -> PageTimes:
    return PageTimes("all pages", [t for r in results for t in r.times_ms])


def summary(results: list[PageTimes]) -> str:
    every = overall(results)
    return "\n".join(
        [*(r.report() for r in results), every.report(), f"mean {statistics.fmean(every.times_ms):.1f} ms"]
    )
