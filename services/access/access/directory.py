"""The directory export file (katalogexport): the HSA mirror in one JSON document, and its rules.

Format (`format: "efrikort-directory/1"`), every section a list, every field as in the directory
change events of `contracts.access_events`:

    {
      "format": "efrikort-directory/1",
      "full": true,                      # a full export: what is not in it has left the directory
      "exported_at": "2025-06-01T02:00:00+02:00",
      "care_providers": [{"hsa_id", "name"}],
      "care_units": [{"hsa_id", "name", "care_provider", "region"}],
      "employees": [{"hsa_id", "name"}],
      "commissions": [{"commission_id", "employee", "care_unit", "purpose", "valid_from", "valid_to"}],
      "access_roles": [{"employee", "care_unit", "role"}],
      "agreements": [{"care_provider", "region", "signed_on", "terminated_on"}],
      "integrated_systems": [{"hsa_id", "name", "certified", "suspended", "approved_regions"}]
    }

The first five sections are HSA's: in a full export, a provider, unit or employee that is missing
has left the directory, and a commission or role that is missing has ended. Agreements and
integrated systems are e-frikort's own register, not HSA's: those in the file are set as given,
and those missing are left as they are (an agreement ends only by termination).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.access_events import AccessRole

FORMAT = "efrikort-directory/1"


class DirectoryFileError(ValueError):
    """The file cannot be imported; `field` names where (e.g. `commissions.3.valid_from`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderEntry(_Entry):
    hsa_id: str = Field(min_length=1)
    name: str = ""


class UnitEntry(_Entry):
    hsa_id: str = Field(min_length=1)
    name: str = ""
    care_provider: str = Field(min_length=1)
    region: str = Field(min_length=1)


class EmployeeEntry(_Entry):
    hsa_id: str = Field(min_length=1)
    name: str = ""


class CommissionEntry(_Entry):
    commission_id: str = Field(min_length=1)
    employee: str = Field(min_length=1)
    care_unit: str = Field(min_length=1)
    purpose: str
    valid_from: date
    valid_to: date | None = None


class RoleEntry(_Entry):
    employee: str = Field(min_length=1)
    care_unit: str = Field(min_length=1)
    role: AccessRole


class AgreementEntry(_Entry):
    care_provider: str = Field(min_length=1)
    region: str = Field(min_length=1)
    signed_on: date
    terminated_on: date | None = None


class SystemEntry(_Entry):
    hsa_id: str = Field(min_length=1)
    name: str = ""
    certified: bool
    suspended: bool = False
    approved_regions: list[str] = Field(default_factory=list)


class DirectoryExport(_Entry):
    format: Literal["efrikort-directory/1"]
    full: bool = True
    exported_at: datetime | None = None
    care_providers: list[ProviderEntry] = Field(default_factory=list)
    care_units: list[UnitEntry] = Field(default_factory=list)
    employees: list[EmployeeEntry] = Field(default_factory=list)
    commissions: list[CommissionEntry] = Field(default_factory=list)
    access_roles: list[RoleEntry] = Field(default_factory=list)
    agreements: list[AgreementEntry] = Field(default_factory=list)
    integrated_systems: list[SystemEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryExport:
        _unique("care_providers", [p.hsa_id for p in self.care_providers])
        _unique("care_units", [u.hsa_id for u in self.care_units])
        _unique("employees", [e.hsa_id for e in self.employees])
        _unique("commissions", [c.commission_id for c in self.commissions])
        _unique("integrated_systems", [s.hsa_id for s in self.integrated_systems])
        for i, commission in enumerate(self.commissions):
            if commission.valid_to is not None and commission.valid_to < commission.valid_from:
                raise ValueError(f"commissions.{i}.valid_to: before valid_from")
        if self.full:
            # In a full export everything a unit or commission points at must be in the file too.
            providers = {p.hsa_id for p in self.care_providers}
            units = {u.hsa_id for u in self.care_units}
            employees = {e.hsa_id for e in self.employees}
            for i, unit in enumerate(self.care_units):
                _known(f"care_units.{i}.care_provider", unit.care_provider, providers)
            links = [("commissions", i, c.employee, c.care_unit) for i, c in enumerate(self.commissions)]
            links += [("access_roles", i, r.employee, r.care_unit) for i, r in enumerate(self.access_roles)]
            for section, i, employee, care_unit in links:
                _known(f"{section}.{i}.employee", employee, employees)
                _known(f"{section}.{i}.care_unit", care_unit, units)
        return self


def _unique(section: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, hsa_id in enumerate(ids):
        if hsa_id in seen:
            raise ValueError(f"{section}.{i}: {hsa_id} appears twice")
        seen.add(hsa_id)


def _known(field: str, hsa_id: str, known: set[str]) -> None:
    if hsa_id not in known:
        raise ValueError(f"{field}: {hsa_id} is not in the file")


def parse_export(raw: bytes) -> DirectoryExport:
    """The file, checked; `DirectoryFileError` naming the first field that is wrong."""
    try:
        return DirectoryExport.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        message = first["msg"]
        if first["type"] == "value_error" and ": " in message:
            # Our own cross-checks name their field inside the message.
            location, message = message.removeprefix("Value error, ").split(": ", 1)
        return _raise(location or "file", message)


def _raise(field: str, reason: str) -> DirectoryExport:
    raise DirectoryFileError(field, reason)
