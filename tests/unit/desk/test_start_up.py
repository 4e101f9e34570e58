"""The desk, once started, keeps the garbage collector from walking what start-up made (as every service does:
`runtime.memory`)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from desk.app import build
from desk.settings import DeskSettings


def test_once_started_a_full_garbage_collection_no_longer_walks_what_start_up_made() -> None:
    gc.unfreeze()  # whatever an earlier test froze in this process
    with TestClient(build(DeskSettings(service_name="desk", development_mode=True))):
        assert gc.get_freeze_count() > 10 * len(gc.get_objects(generation=2))
