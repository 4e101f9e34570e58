"""The people, units and systems of the registration tests, each lacking one thing a fee needs: a
directory export built in code, imported into access, which gives them their grants.

Their HSA-IDs are made fresh per session, so nothing an earlier run granted on a shared Kafka leaks in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from contracts.access_events import AccessRole
from contracts.clock import today_in_sweden
from efrikort.through_access import PartialExport

REGION = "Region Exempel"
"""The deployment's region (access's default `EFRIKORT_ACCESS_REGION`, the sample directory's), so that
access approves the tests' system and opens its topics."""


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
        return f"Region Annan {self.tag}"

    def actors(self) -> PartialExport:
        """Everyone above as a partial directory export: each lacking the one thing their name says."""
        actors = PartialExport(REGION)
        provider, other_provider = actors.provider(self.id("PROVIDER")), actors.provider(self.id("PROVIDER-OTHER"))
        elsewhere = actors.provider(self.id("PROVIDER-ELSEWHERE"), region=self.other_region)
        unsigned = actors.provider(self.id("PROVIDER-UNSIGNED"), agreement=False)
        actors.system(self.system)
        actors.system(self.second_system)
        actors.system(self.unapproved_system, certified=False)
        actors.unit(self.unit, provider)
        actors.unit(self.sister_unit, provider)
        actors.unit(self.other_provider_unit, other_provider)
        actors.unit(self.other_region_unit, elsewhere, region=self.other_region)
        actors.unit(self.unit_without_agreement, unsigned)
        actors.unit(self.closed_unit, provider, closed=True)
        actors.employee(self.user, self.unit)
        actors.employee(self.user, self.unit_without_agreement)
        actors.employee(self.colleague, self.sister_unit)
        actors.employee(self.other_provider_user, self.other_provider_unit)
        actors.employee(self.administrator, self.other_provider_unit, role=AccessRole.ADMINISTRATOR)
        actors.employee(self.other_region_administrator, self.other_region_unit, role=AccessRole.ADMINISTRATOR)
        actors.employee(self.without_commission, self.unit, commission=False)
        actors.employee(self.commission_ended, self.unit, commission_ended_on=today_in_sweden() - timedelta(days=2))
        actors.employee(self.without_role, self.unit, role=None)
        actors.employee(self.limited_user, self.unit, role=AccessRole.LIMITED_USER)
        return actors


def new_directory() -> Directory:
    return Directory(uuid.uuid4().hex[:6].upper())
