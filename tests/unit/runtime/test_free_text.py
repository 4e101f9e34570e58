"""Free text a person typed holds printable characters only; the refusal names the field, never the value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from runtime.free_text import FreeText


class Details(BaseModel):
    name: FreeText


def test_names_with_any_printable_letters_are_accepted() -> None:
    assert Details(name="Åsa Öberg-Ñúñez 陳").name == "Åsa Öberg-Ñúñez 陳"


@pytest.mark.parametrize("control", ["\x00", "\t", "\n", "\x1b", "\x7f", "\x85"])
def test_a_control_character_is_refused_naming_the_field_not_the_value(control: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Details(name=f"Åsa{control}Öberg")
    [error] = refused.value.errors()
    assert error["loc"] == ("name",)
    assert "Åsa" not in error["msg"]
