"""Hostile files, built at test time (none is committed): bombs, traps and pathologies.

Each builder writes one file and returns its path. Sizes are parameters so tests stay
cheap; the shapes are those of real attacks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

#: The marker an expanded entity would put in the text: its presence means expansion.
LAUGH = "lol"
#: A file outside every test tree whose content must never appear in a document.
SECRET = "external-entity-secret-7f3a"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx(path: Path, body: str, *, prolog: str = "", repeat: int = 1) -> Path:
    """A minimal valid .docx whose document body is `body` repeated `repeat` times,
    streamed into the zip (a 400 MB member costs no 400 MB string here)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'.encode())
            member.write(f'<w:document xmlns:w="{_W}"><w:body>'.encode())
            chunk = (body * max(1, 65536 // max(len(body), 1))).encode()
            per = max(1, 65536 // max(len(body), 1))
            left = repeat
            while left >= per:
                member.write(chunk)
                left -= per
            member.write((body * left).encode())
            member.write(b"</w:body></w:document>")
    return path


def docx_bomb(path: Path, megabytes: int) -> Path:
    """A .docx of a few hundred KB whose document.xml inflates to `megabytes` MB."""
    para = _paragraph("x" * 80)
    return docx(path, para, repeat=megabytes * 2**20 // len(para))


ATTACKS = ("laughs", "external")


def dtd(root: str, attack: str, secret_file: Path) -> tuple[str, str]:
    """A DOCTYPE and the entity reference that triggers it: "laughs" is the classic
    billion laughs (&lol9; is 10**9 "lol"s), "external" an entity that would pull
    `secret_file` into the text."""
    if attack == "external":
        return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret_file}">]>', "&xxe;"
    lines = [f'<!ENTITY lol0 "{LAUGH}">']
    lines += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return f"<!DOCTYPE {root} [{''.join(lines)}]>", "&lol9;"


def xml_entities(path: Path, attack: str, secret_file: Path) -> Path:
    doctype, ref = dtd("doc", attack, secret_file)
    body = f"<doc><title>plain xml title</title><a>{ref}</a></doc>"
    path.write_text(f'<?xml version="1.0"?>{doctype}{body}')
    return path


def svg_entities(path: Path, attack: str, secret_file: Path) -> Path:
    doctype, ref = dtd("svg", attack, secret_file)
    body = f'<svg xmlns="http://www.w3.org/2000/svg"><text>plain svg</text><text>{ref}</text></svg>'
    path.write_text(f'<?xml version="1.0"?>{doctype}{body}')
    return path


def html_entities(path: Path, attack: str, secret_file: Path) -> Path:
    doctype, ref = dtd("html", attack, secret_file)
    path.write_text(f"{doctype}<html><body><p>plain html paragraph</p><p>{ref}</p></body></html>")
    return path


def docx_entities(path: Path, attack: str, secret_file: Path) -> Path:
    doctype, ref = dtd("w:document", attack, secret_file)
    return docx(path, _paragraph("plain docx paragraph") + _paragraph(ref), prolog=doctype)


def xlsx_entities(path: Path, attack: str, secret_file: Path) -> Path:
    """A real workbook (openpyxl) whose sheet XML gets the DOCTYPE and an entity cell."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "plain xlsx cell"
    sheet["A2"] = "ENTITY"
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    doctype, ref = dtd("worksheet", attack, secret_file)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<worksheet", doctype.encode() + b"<worksheet", 1)
                data = data.replace(b"ENTITY", ref.encode())
            out.writestr(item, data)
    plain.unlink()
    return path


#: One builder per XML-based format family.
ENTITY_BUILDERS = {
    ".xml": xml_entities,
    ".svg": svg_entities,
    ".html": html_entities,
    ".docx": docx_entities,
    ".xlsx": xlsx_entities,
}


def empty_pages_pdf(path: Path, pages: int) -> Path:
    """A valid PDF of `pages` blank pages, written directly (fpdf would take seconds)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def nested_html(path: Path, depth: int) -> Path:
    path.write_text(
        "<html><body><p>before the nesting</p>"
        + "<div>" * depth
        + "deep text"
        + "</div>" * depth
        + "</body></html>"
    )
    return path
