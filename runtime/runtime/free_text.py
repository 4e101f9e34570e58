"""Free text a person typed (a name, an address line, a reason): printable characters only.

A control character has no place in such a field, and some break what comes after: PostgreSQL refuses
NUL in text, which used to end a request in a 500 whose log held every value of the statement. The
refusal names the field and never repeats the value (it is personal data)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from contracts.text import no_control_characters

NoControlCharacters = AfterValidator(no_control_characters)
FreeText = Annotated[str, NoControlCharacters]
"""A request field of free text: refused with 422 naming the field when it holds a control character."""
