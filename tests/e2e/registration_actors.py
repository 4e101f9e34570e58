"""The people, units and systems of the registration tests, each lacking one thing a fee needs.

Their HSA-IDs are made fresh per session, so nothing an earlier run granted on a shared Kafka leaks in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.access_events import AccessRole
from efrikort.sample_actors import EXAMPLE_REGION, Grant, employee, system, unit


@dataclass(frozen=True)
class Directory:
    tag: str

    def id(self, name: str) -> str:
        return f"SE2321000016-T{self.tag}-{name}"

    @property
    def system(self) -> str:
        return self.id("SYS")

    @property
    def second_system(self) -> str:
        """Another approved system, whose submission ids may be the same as the first's."""
        return self.id("SYS-2")

    @property
    def unapproved_system(self) -> str:
        return self.id("SYS-UNCERTIFIED")

    @property
    def unit(self) -> str:
        return self.id("U1")

    @property
    def sister_unit(self) -> str:
        """Another unit of the same provider."""
        return self.id("U2")

    @property
    def other_provider_unit(self) -> str:
        return self.id("U-OTHER-PROVIDER")

    @property
    def other_region_unit(self) -> str:
        return self.id("U-OTHER-REGION")

    @property
    def unit_without_agreement(self) -> str:
        return self.id("U-NO-AGREEMENT")

    @property
    def closed_unit(self) -> str:
        return self.id("U-CLOSED")

    @property
    def user(self) -> str:
        return self.id("E-USER")

    @property
    def colleague(self) -> str:
        """A user at the sister unit: the same provider."""
        return self.id("E-COLLEAGUE")

    @property
    def other_provider_user(self) -> str:
        return self.id("E-OTHER-PROVIDER")

    @property
    def administrator(self) -> str:
        """The region's administrator, employed at another provider's unit."""
        return self.id("E-ADMIN")

    @property
    def other_region_administrator(self) -> str:
        return self.id("E-ADMIN-OTHER-REGION")

    @property
    def without_commission(self) -> str:
        return self.id("E-NO-COMMISSION")

    @property
    def commission_ended(self) -> str:
        return self.id("E-COMMISSION-ENDED")

    @property
    def without_role(self) -> str:
        return self.id("E-NO-ROLE")

    @property
    def limited_user(self) -> str:
        return self.id("E-LIMITED")

    @property
    def other_region(self) -> str:
        return f"{EXAMPLE_REGION}-OTHER-{self.tag}"

    def grants(self) -> list[Grant]:
        provider, other_provider = self.id("PROVIDER"), self.id("PROVIDER-OTHER")
        yesterday = datetime.now(UTC) - timedelta(days=2)
        return [
            system(self.system),
            system(self.second_system),
            system(self.unapproved_system, certified=False),
            unit(self.unit, provider=provider),
            unit(self.sister_unit, provider=provider),
            unit(self.other_provider_unit, provider=other_provider),
            unit(self.other_region_unit, provider=self.id("PROVIDER-ELSEWHERE"), region=self.other_region),
            unit(self.unit_without_agreement, provider=self.id("PROVIDER-UNSIGNED"), agreement=False),
            unit(self.closed_unit, provider=provider, active=False),
            employee(self.user, self.unit),
            employee(self.user, self.unit_without_agreement),
            employee(self.colleague, self.sister_unit),
            employee(self.other_provider_user, self.other_provider_unit),
            employee(self.administrator, self.other_provider_unit, role=AccessRole.ADMINISTRATOR),
            employee(self.other_region_administrator, self.other_region_unit, role=AccessRole.ADMINISTRATOR),
            employee(self.without_commission, self.unit, commission=False),
            employee(self.commission_ended, self.unit, valid_to=yesterday),
            employee(self.without_role, self.unit, role=None),
            employee(self.limited_user, self.unit, role=AccessRole.LIMITED_USER),
        ]


def new_directory() -> Directory:
    return Directory(uuid.uuid4().hex[:6].upper())
