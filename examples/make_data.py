"""Write the PDF and DOCX files of the example corpus (examples/data).

The markdown, HTML and text files are written by hand; these two formats are binary, so
they are generated here from text kept in this script. Output is deterministic (fixed
dates), and existing files are left alone unless `--force` is given: a regenerated file
with a new modification time would count as a changed document on the next ingest.

Needs `fpdf2` and `python-docx` (both installed by `make setup`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
FIXED = dt.datetime(2025, 1, 15, 9, 0, 0, tzinfo=dt.timezone.utc)

REPORT_TITLE = "Harbor Point Community Library - Annual Report 2024"
REPORT = [
    (
        "Visitors",
        "The library welcomed 182,400 visitors in 2024, eleven percent more than in 2023. "
        "The busiest month was October, when the autumn reading festival brought 21,300 "
        "visitors through the doors.",
    ),
    (
        "Collection",
        "Members borrowed 241,000 items. Children's books made up forty percent of all "
        "loans, and board games, introduced in March, were borrowed 6,900 times.",
    ),
    (
        "Makerspace",
        "The two 3D printers ran for 3,150 hours. 640 makers attended the Tuesday safety "
        "introduction, and the laser cutter evenings were fully booked from May on.",
    ),
    (
        "Budget",
        "The library spent 1.9 million dollars in 2024: 62 percent on staff, 21 percent "
        "on the collection and 17 percent on the building and technology. The city "
        "council provided 88 percent of the budget; donations and grants the rest.",
    ),
]

GUIDE_TITLE = "Volunteer guide"
GUIDE = [
    (
        "Becoming a volunteer",
        "Volunteers help with the homework club, the reading garden and the book sale. "
        "Fill in the volunteer form at the front desk; the volunteer coordinator, Maria "
        "Okafor, calls every applicant within ten days.",
    ),
    (
        "Commitment",
        "We ask volunteers for at least two hours a week for three months. All volunteers "
        "attend one induction evening, held on the first Wednesday of each month at 18:30.",
    ),
    (
        "Homework club",
        "The homework club runs Monday to Thursday from 15:30 to 17:30 for pupils aged 8 "
        "to 14. Volunteers who work with children need a background check, which the "
        "library arranges and pays for.",
    ),
]


def write_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(FIXED)
    pdf.set_title(REPORT_TITLE)
    pdf.set_author("Harbor Point Community Library")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 9, REPORT_TITLE, new_x="LMARGIN", new_y="NEXT")
    for heading, text in REPORT:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.created = FIXED.replace(tzinfo=None)
    document.core_properties.modified = FIXED.replace(tzinfo=None)
    document.core_properties.author = "Harbor Point Community Library"
    document.core_properties.title = GUIDE_TITLE
    document.add_heading(GUIDE_TITLE, level=1)
    for heading, text in GUIDE:
        document.add_heading(heading, level=2)
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    _fix_zip_times(buffer.getvalue(), path)


def _fix_zip_times(data: bytes, path: Path) -> None:
    """Rewrite a zip (docx) with fixed entry times, so the bytes never depend on today."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    parser.add_argument("--out", type=Path, default=DATA, help="folder to write into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, write in (("annual-report.pdf", write_pdf), ("volunteer-guide.docx", write_docx)):
        target = args.out / name
        if target.exists() and not args.force:
            continue
        write(target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
