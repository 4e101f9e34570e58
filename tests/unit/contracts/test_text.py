"""A text field's characters: every character is refused exactly when it is a control character or a
surrogate, whatever way `printable` looks for them."""

from __future__ import annotations

import sys
import unicodedata

from contracts.text import REFUSED_CATEGORIES, printable


def test_a_character_is_refused_exactly_when_it_is_a_control_character_or_a_surrogate() -> None:
    differing = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if printable(chr(code)) == (unicodedata.category(chr(code)) in REFUSED_CATEGORIES)
    ]
    assert differing == []


def test_one_refused_character_anywhere_refuses_the_whole_text() -> None:
    assert printable("Åsa Öberg 陳")
    assert not printable("Åsa\u0085Öberg")
    assert not printable("\ud800" + "Åsa")
    assert not printable("Åsa\x00")
