"""HTML building blocks of the report: escaped text, tables, embedded images and the page.

Every piece of text that comes from a run (recipe values, class names, metric names, errors)
goes through :func:`html.escape`. The page has no scripts and no external resources: its style
is inline and its images are ``data:`` URIs, so the one file opens anywhere without a server.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827;
       max-width: 1100px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #e5e7eb; padding-bottom: 0.2em; }
.summary { color: #4b5563; }
nav a { margin-right: 1em; color: #2563eb; text-decoration: none; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #e5e7eb; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.num { font-variant-numeric: tabular-nums; }
.evaluation td:nth-child(2) { white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.note { color: #6b7280; font-style: italic; }
.tables { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
"""


@dataclass(frozen=True)
class Section:
    """One ``<h2>`` section of the report.

    Attributes:
        id: stable anchor (``id`` attribute of the heading), e.g. ``"training-curves"``.
        title: heading text (escaped when rendered).
        body: the section's HTML (already escaped by the helpers below).
    """

    id: str
    title: str
    body: str


def text(value: object) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value))


def paragraph(value: str, *, css_class: str | None = None) -> str:
    """An escaped ``<p>``, optionally with a CSS class."""
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{text(value)}</p>"


def note(value: str) -> str:
    """An escaped paragraph styled as a note (for missing or skipped content)."""
    return paragraph(value, css_class="note")


def image(uri: str, alt: str) -> str:
    """An ``<img>`` showing a ``data:`` URI."""
    if not uri.startswith("data:image/"):
        raise ValueError("report images must be embedded data: URIs")
    return f'<img src="{uri}" alt="{text(alt)}">'


def table(header: Sequence[str], rows: Sequence[Sequence[object]], *, css_class: str = "") -> str:
    """An escaped HTML table; numbers are right-aligned in tabular figures."""
    head = "".join(f"<th>{text(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{text(cell)}</td>'
            if isinstance(cell, int | float)
            else f"<td>{text(cell)}</td>"
            for cell in row
        )
        body.append(f"<tr>{cells}</tr>")
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, summary: str, sections: Sequence[Section]) -> str:
    """The whole document: title, a one-line summary, a table of contents and the sections."""
    links = " ".join(f'<a href="#{section.id}">{text(section.title)}</a>' for section in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{text(title)}</h1>",
        paragraph(summary, css_class="summary"),
        f"<nav>{links}</nav>",
    ]
    for section in sections:
        parts.append(f'<section><h2 id="{section.id}">{text(section.title)}</h2>')
        parts.append(section.body)
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
