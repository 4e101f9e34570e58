"""The desk's words: Swedish and English hold the same keys, and every key a template or form names exists."""

from __future__ import annotations

import re
from pathlib import Path

import desk
from desk.i18n import Translator, catalogue

PACKAGE = Path(desk.__file__).parent


def test_swedish_and_english_hold_the_same_keys() -> None:
    assert set(catalogue("sv")) == set(catalogue("en"))


def test_every_key_the_templates_name_is_in_the_catalogue() -> None:
    named = set()
    for template in (PACKAGE / "templates").glob("*.html"):
        named |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']\s*[,)]""", template.read_text()))
    assert named, "no keys found: the pattern no longer matches the templates"
    assert named - set(catalogue("sv")) == set()


def test_every_error_key_the_forms_can_give_is_in_the_catalogue() -> None:
    source = (PACKAGE / "forms.py").read_text()
    keys = set(re.findall(r'"(error\.[a-z_]+\.[a-z_]+)"', source))
    fields = set(re.findall(r'_amount\(form, "([a-z_]+)"', source))
    keys |= {f"error.{field}.{what}" for field in fields for what in ("invalid",)}
    keys |= {"error.fee_amount.missing"}
    assert keys - set(catalogue("sv")) == set()


def test_money_is_written_the_swedish_way() -> None:
    assert Translator("sv").money(1450) == "1\u00a0450\u00a0kr"
    assert Translator("en")("quote.due", amount="150 kr") == "To pay: 150 kr"
