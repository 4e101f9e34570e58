"""The extract as a PDF to print or send: a rendering of `extract.Extract`, nothing more."""

from __future__ import annotations

from fpdf import FPDF

from protection.extract import Extract

_STATUS_SV = {
    "below_limit": "Ej uppnått",
    "preliminary": "Preliminärt uppnått",
    "final": "Uppnått",
    "expired": "Utgånget",
}


def extract_pdf(extract: Extract, region: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Sammanställning av avgifter, högkostnadsskydd")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "Sammanställning av avgifter - högkostnadsskydd", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    status = extract.status
    standing = status.standing
    facts = [
        ("Region", region),
        ("Utskriven", extract.as_of.isoformat()),
        ("Status", _STATUS_SV[status.status.value]),
        ("Period från", standing.period_start.isoformat() if standing.period_start else "-"),
        ("Högkostnadstak", f"{standing.ceiling} kr"),
        ("Summa", f"{standing.sum} kr"),
        ("Kvar till taket", f"{standing.remaining} kr"),
    ]
    if standing.free_card is not None and status.card_number is not None:
        facts.append(
            (
                "Frikort",
                f"{status.card_number}, giltigt {standing.free_card.valid_from.isoformat()} "
                f"- {standing.free_card.valid_to.isoformat()}",
            )
        )
    for label, value in facts:
        pdf.cell(45, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 9)
    widths = (24, 48, 52, 20, 22, 22)
    for width, title in zip(
        widths, ("Besök", "Vårdenhet", "Avgiftstyp", "Avgift", "Att betala", "Räknas"), strict=True
    ):
        pdf.cell(width, 6, title, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in extract.lines:
        cells = (
            line.visit_date.isoformat(),
            line.care_unit,
            line.fee_type_name[:30],
            f"{line.fee_amount} kr",
            f"{line.amount_due} kr",
            f"{line.counted} kr",
        )
        for width, value in zip(widths, cells, strict=True):
            pdf.cell(width, 6, value)
        pdf.ln()
    if not extract.lines:
        pdf.cell(0, 6, "Inga registrerade avgifter i perioden.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
