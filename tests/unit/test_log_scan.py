"""The run's log check finds personal values the tests sent, as written or as JSON escapes them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.log_scan import SentValues, identity_numbers_in, leaks


def test_a_name_sent_about_a_patient_is_found_in_a_log_that_holds_it_even_json_escaped(tmp_path: Path) -> None:
    sent = SentValues()
    body = {"name": "Åsa Öberg", "email": "asa@patient.test", "postal_address": ["Storgatan 12"]}
    sent.remember(httpx.Request("PUT", "http://svc/v1/patients/contact", json=body))
    sent.remember(httpx.Request("PUT", "http://svc/v1/systems/SYS1", json={"name": "Journal system"}))
    clean, leaking = tmp_path / "clean.log", tmp_path / "leaking.log"
    clean.write_text('{"message": "contact details changed"}\n')
    leaking.write_text(json.dumps({"message": "failed: Åsa Öberg, Storgatan 12"}) + "\n")
    assert sent.values == {
        "Åsa Öberg": "name",
        "asa@patient.test": "e-mail address",
        "Storgatan 12": "address",
    }
    found = leaks([clean, leaking], sent.values, root=tmp_path)
    assert found == {"leaking.log": {"name", "address"}}


def test_an_identity_number_is_remembered_from_any_request_with_and_without_its_dash() -> None:
    sent = SentValues()
    sent.remember(httpx.Request("POST", "http://svc/v1/fees", json={"patient_id": "19850412-1230"}))
    assert set(sent.values) == {"19850412-1230", "198504121230"}


def test_an_identity_number_is_found_in_a_log_line_with_and_without_its_dash_and_beside_a_uuid() -> None:
    line = '{"message": "19850412-1230 and 198504121230", "correlation_id": "78a6dbc1-97c3-4dd7-b118-0a1b2c3d4e5f"}'
    assert identity_numbers_in(line) == ["19850412-1230", "198504121230"]


def test_a_uuid_whose_groups_are_all_digits_is_not_an_identity_number() -> None:
    # Seen in a CI run's registration log: a correlation id whose last group is twelve digits from 20 on.
    assert identity_numbers_in('"correlation_id": "78a6dbc1-97c3-4dd7-b118-201799376040"') == []
    assert identity_numbers_in("fee 19850412-1230-4dd7-b118-0a1b2c3d4e5f corrected") == []
