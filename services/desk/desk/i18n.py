"""The desk's words, Swedish first and English by a switch: message catalogues in `locales/<lang>.json`.

A key missing from English falls back to the Swedish text; a key missing from Swedish is a defect (a unit
test holds the two catalogues to the same keys). A service's refusal is shown in the person's language when
its code is known here (`refusal.<code>`), else as the service gave it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

Language = Literal["sv", "en"]
LANGUAGES: tuple[Language, ...] = ("sv", "en")
DEFAULT: Language = "sv"
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(language: Language) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((_LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    return loaded


def language_of(value: object) -> Language:
    """The language a session or form names; Swedish for anything else."""
    return "en" if value == "en" else "sv"


class Translator:
    """The words of one language, for one page."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        text = catalogue(self.language).get(key) or catalogue(DEFAULT).get(key) or key
        return text.format(**values) if values else text

    def knows(self, key: str) -> bool:
        return key in catalogue(self.language) or key in catalogue(DEFAULT)

    def money(self, amount: int | None) -> str:
        """Whole kronor as a Swede writes them: 1 450 kr."""
        if amount is None:
            return "–"
        return f"{amount:,}".replace(",", "\u00a0") + "\u00a0kr"
