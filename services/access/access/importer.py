"""Loading a directory export file, as operations do: `python -m access.importer FILE` (or
`efrikort import-directory FILE`).

It works on access's own schema with the service's own settings (no HTTP caller is needed, so the
very first import, before anyone holds a role, is possible). The grants it changes go to the
outbox in the same transaction, and the running access service's relay publishes them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from access.app import HTTP_PORT, NAME, build
from access.directory import DirectoryExport, DirectoryFileError, parse_export
from access.mirror import ImportSummary, import_export
from access.settings import AccessSettings
from runtime import database
from runtime.service import Runtime
from runtime.transaction import Transaction


@asynccontextmanager
async def access_transaction(settings: AccessSettings | None = None) -> AsyncIterator[Transaction]:
    """One transaction on access's own schema (its settings from the environment unless given), the
    schema made current first: what is changed in it goes to access's outbox, and the running access
    service publishes it."""
    settings = settings or AccessSettings.for_service(NAME, http_port=HTTP_PORT)
    # The import writes access's tables and outbox and never Kafka (the running service's relay
    # publishes), so it needs no Kafka login: the runtime is made without one and never connects.
    runtime = Runtime(settings.model_copy(update={"kafka_security_protocol": "PLAINTEXT"}))
    try:
        service = build(runtime)
        await database.provision(runtime.settings)
        await database.migrate(runtime.engine, service.migrations, runtime.settings.database_schema)
        # One import is one piece of work: its grants share a fresh correlation id.
        async with runtime.uow.begin(correlation_id=str(uuid.uuid4())) as tx:
            yield tx
    finally:
        await runtime.engine.dispose()


async def import_export_file(export: DirectoryExport, settings: AccessSettings | None = None) -> ImportSummary:
    async with access_transaction(settings) as tx:
        return await import_export(tx, export)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m access.importer DIRECTORY_EXPORT.json", file=sys.stderr)
        return 2
    try:
        path = Path(args[0])
        summary = asyncio.run(import_export_file(parse_export(path.read_bytes())))
    except DirectoryFileError as error:
        print(f"{args[0]}: not imported: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary.__dict__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
