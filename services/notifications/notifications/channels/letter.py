"""A printed letter: a PDF addressed to the patient, written into the print-batch folder.

The print house collects one folder per (Swedish) day (`<letter_folder>/<YYYY-MM-DD>/`). A letter's file is
named after its notice, and written under a temporary name and renamed, so that the print house
never picks up half a file, and a second try of the same notice replaces the file instead of
printing a second letter.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path

from fpdf import FPDF

from contracts.clock import today_in_sweden
from notifications.channels import DeliveryFailed, Outgoing
from notifications.settings import NotificationsSettings

# fpdf2's core fonts are Latin-1 (Windows-1252): they hold å, ä, ö, é, but nothing beyond.
_PRINTABLE = "latin-1"


def printable(text: str) -> str:
    """Text the core font can print: non-breaking spaces as spaces, anything outside Latin-1 as '?'."""
    return text.replace("\u00a0", " ").encode(_PRINTABLE, "replace").decode(_PRINTABLE)


def letter_pdf(notice: Outgoing, sender: str) -> bytes:
    """A one-page A4 letter: the region as sender, the address window, the subject and the text."""
    if notice.contact is None or not notice.contact.postal_address:
        raise DeliveryFailed("no postal address in the patient's contact details", permanent=True)
    pdf = FPDF(format="A4")
    pdf.set_title(printable(notice.subject))
    pdf.set_creator("e-frikort")
    pdf.set_margins(25, 20, 25)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, printable(sender), new_x="LMARGIN", new_y="NEXT")
    # The address where a C5/C4 window envelope shows it.
    pdf.set_xy(110, 45)
    pdf.set_font("Helvetica", size=11)
    for line in [notice.contact.name or "", *notice.contact.postal_address]:
        if line:
            pdf.set_x(110)
            pdf.cell(0, 5.5, printable(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(95)
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(0, 7, printable(notice.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 5.5, printable(notice.text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(0, 4, printable(f"Referens: {notice.idempotency_key}"))
    return bytes(pdf.output())


class LetterChannel:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    def path_of(self, notice: Outgoing, day: date) -> Path:
        """Where the letter goes: the print batch of `day` (a Swedish calendar date, as the print house's)."""
        return self._settings.letter_folder / day.isoformat() / f"{notice.idempotency_key}.pdf"

    async def send(self, notice: Outgoing) -> None:
        content = letter_pdf(notice, self._settings.region_name)
        path = self.path_of(notice, today_in_sweden())
        try:
            await asyncio.to_thread(_write_whole, path, content)
        except OSError as error:
            raise DeliveryFailed(f"could not write the letter to the print-batch folder ({error.strerror})") from None


def _write_whole(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".pdf.partial")
    with partial.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
