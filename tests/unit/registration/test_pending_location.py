"""A 202's Location names the submission's outcome URL whatever printable characters its id holds: a
header carries only Latin-1, and a path no "/" or "?" of its own."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from registration.routes import _pending


@pytest.mark.parametrize("submission_id", ["plain-1", "å/ü?x#y", "数字", "a b%20c"])
def test_the_outcome_url_of_any_submission_id_is_one_path_segment_in_ascii(submission_id: str) -> None:
    response = _pending(submission_id, "fee-1")

    location = response.headers["location"]
    assert location.isascii()
    assert location.count("/") == 4, "the id is one segment of the path"
    assert location.startswith("/v1/submissions/") and location.endswith("/outcome")
    assert unquote(location.removeprefix("/v1/submissions/").removesuffix("/outcome")) == submission_id
