"""The texts of a notice, written from templates in the patient's language (Swedish or English).

Templates live in `templates/<language>/<kind>.txt.j2` (plain text, first a `{% set subject = ... %}`)
and `<kind>.html.j2` (the e-mail's HTML part). Each says what happened, what it means for the
patient, and whom to contact: the region for free cards, the care unit for an overcharge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from contracts.notice_events import NoticeLanguage
from notifications.notices import NoticeKind

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Region:
    """Who answers the patient's questions about free cards."""

    name: str
    phone: str
    web: str


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str


def kronor(amount: int) -> str:
    """1450 -> '1 450 kr', as Swedish writes amounts (the same in the English texts)."""
    return f"{amount:,}".replace(",", "\u00a0") + "\u00a0kr"


def iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["kronor"] = kronor
_environment.filters["iso"] = iso


def render(
    kind: NoticeKind, language: NoticeLanguage, facts: dict[str, Any], region: Region, name: str | None = None
) -> RenderedNotice:
    context = {**facts, "region": region, "name": name}
    text_template = _environment.get_template(f"{language.value}/{kind.value}.txt.j2")
    subject = str(text_template.make_module(context).subject).strip()  # type: ignore[attr-defined]
    text = text_template.render(context)
    html = _environment.get_template(f"{language.value}/{kind.value}.html.j2").render({**context, "subject": subject})
    return RenderedNotice(subject=subject, text=text.strip() + "\n", html=html)
