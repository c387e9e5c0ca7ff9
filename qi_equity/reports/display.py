"""Notebook display helpers for reports: images with alt text, suppressed tables.

nbconvert's HTML templates give image outputs no alt text, so figures are shown as an HTML
``<figure>`` with an embedded SVG, ``alt`` text and a caption (with a plain-text fallback).
Nothing is loaded from the internet.
"""

from __future__ import annotations

import base64
import html
import io
import re

import numpy as np
import pandas as pd

from qi_equity.data import vocabulary as V
from qi_equity.publication.tables import SUPPRESSED, Published


def figure_html(fig, alt: str | None = None, caption: str | None = None, fmt: str = "svg", dpi: int = 96) -> str:
    """The figure as an HTML ``<figure>`` with an embedded image (a data URI) and alt text.

    SVG by default: vector (sharp at any zoom or print size) and about half the time of a
    PNG to write, since nothing is rasterised. Text stays text (``svg.fonttype: none``): the
    browser draws it with the first installed font of matplotlib's sans-serif list (DejaVu
    Sans, Verdana, Arial ... sans-serif; anchored, so alignment holds), which keeps files
    small and quick to write. Written reproducibly (fixed element ids, no date), so the same
    figure gives the same bytes. ``fmt="png"`` writes a PNG at ``dpi``.
    """
    import matplotlib as mpl

    alt = alt or getattr(fig, "qi_alt_text", None) or "Chart"
    buf = io.BytesIO()
    if fmt == "svg":
        with mpl.rc_context({"svg.hashsalt": "qi_equity", "svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        mime = "image/svg+xml"
    else:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        mime = "image/png"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="qi-figure"><img src="data:{mime};base64,{data}" alt="{html.escape(alt)}" '
            f'>{cap}</figure>')


def show_figure(fig, alt: str | None = None, caption: str | None = None):
    """Display a figure in a notebook as HTML with alt text (static in exported reports)."""
    from IPython.display import display

    display({"text/html": figure_html(fig, alt, caption),
             "text/plain": f"[figure] {alt or getattr(fig, 'qi_alt_text', '')}"}, raw=True)


_NUMERIC = re.compile(r"^[-+\u2212]?[\d.,]+\s*(%|wk|pp)?(\s*\(.*\))?$")


def _numeric_columns(df: pd.DataFrame, texts: list[list[str]]) -> list[bool]:
    """Which columns read as numbers (aligned right): a numeric dtype, or every non-empty,
    non-suppressed cell a number (with its interval, unit or thousands separators), or every
    cell hidden (only numbers are suppressed)."""
    out = []
    for j, c in enumerate(df.columns):
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            out.append(True)
            continue
        vals = [row[j] for row in texts if row[j] not in ("", SUPPRESSED)]
        if vals:
            out.append(all(_NUMERIC.match(v) for v in vals))
        else:
            out.append(any(row[j] == SUPPRESSED for row in texts))
    return out


def _icon_cell(kind: str, v) -> str:
    """An icon column's cell (``attrs["icons"]``: column -> "variation" or "assurance" for a
    column of icon codes, "scan" for the findings scan's words): the Making Data Count icon and
    its words; "n/a" (and no icon) where there is none."""
    from qi_equity.reports.icons import icon_cell_html, scan_icon

    if v is None or (isinstance(v, float) and v != v) or v == "":
        return html.escape("n/a") if kind != "assurance" else ""
    if kind == "scan":
        return icon_cell_html("variation", scan_icon(v), str(v))
    if V.icon(kind, v) is None:
        return html.escape(str(V.value(v)))
    return icon_cell_html(kind, v)


def _table_body(df: pd.DataFrame, decimals: int) -> str:
    """An HTML table, every text escaped, headings and coded values in the display vocabulary
    (:func:`qi_equity.data.vocabulary.relabel`), whole-number counts without decimals, numbers
    right and text left; a column whose values are published counts carries each count's
    release key as ``data-cell`` (what the disclosure audit reads back). The table sits in a
    box that scrolls sideways on a narrow screen, so the page itself never does."""
    df = V.relabel(df, keep=tuple((df.attrs.get("icons") or {})))
    cells = df.attrs.get("cells", {}) or {}
    icons = df.attrs.get("icons", {}) or {}

    def fmt(v):
        if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return f"{v:,.{decimals}f}"
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return f"{int(v):,}"
        return str(v)

    texts = [[fmt(v) for v in row] for row in df.itertuples(index=False, name=None)]
    numeric = [n and c not in icons for c, n in zip(df.columns, _numeric_columns(df, texts))]
    num = [' class="qi-num"' if n else "" for n in numeric]
    head = "".join(f"<th scope=\"col\"{a}>{html.escape(str(c))}</th>" for c, a in zip(df.columns, num))
    rows = []
    for i, row in enumerate(texts):
        tds = []
        for c, v, a in zip(df.columns, row, num):
            keys = cells.get(c)
            attr = ""
            if keys is not None and i < len(keys):
                k = keys.iloc[i] if hasattr(keys, "iloc") else keys[i]
                if isinstance(k, str) and k:
                    attr = f' data-cell="{html.escape(k, quote=True)}"'
            if c in icons:
                tds.append(f"<td{attr}>{_icon_cell(icons[c], df[c].iloc[i])}</td>")
            else:
                tds.append(f"<td{a}{attr}>{html.escape(v)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return (f'<div class="qi-scroll"><table class="qi-table"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def table_html(table: pd.DataFrame | Published, caption: str | None = None, note: str | None = None,
               decimals: int = 1) -> str:
    if isinstance(table, Published):
        df = table.display(decimals)
        note = note or table.note
    else:
        df = table
    body = _table_body(df.reset_index(drop=True) if df.attrs.get("cells") else df, decimals)
    cap = f"<p class='qi-caption'><strong>{html.escape(caption)}</strong></p>" if caption else ""
    nt = f"<p class='qi-note'>{html.escape(note)}</p>" if note else ""
    return cap + body + nt


def show_table(table: pd.DataFrame | Published, caption: str | None = None, note: str | None = None,
               decimals: int = 1):
    """Display a table (a :class:`~qi_equity.disclosure.Published` shows ``*`` for hidden cells)."""
    from IPython.display import display

    display({"text/html": table_html(table, caption, note, decimals),
             "text/plain": (caption or "") + "\n" + (table.display(decimals) if isinstance(table, Published)
                                                     else table).to_string()}, raw=True)


def escape_markdown(text: str) -> str:
    """Markdown with every HTML special character escaped: formatting (``**bold**``, lists,
    headings) still renders, but a provider name or title holding ``<script>`` or a tag shows as
    text. Every report text reaches HTML through here, :func:`table_html` or :func:`figure_html`."""
    return html.escape(str(text), quote=False)


def show_markdown(text: str):
    """Display Markdown (HTML in it is shown as text, never run: see :func:`escape_markdown`)."""
    from IPython.display import Markdown, display

    display(Markdown(escape_markdown(text)))


def icon_matrix_html(matrix: pd.DataFrame, caption: str | None = None) -> str:
    """A variation matrix (first column the row labels, then one column of variation icon
    codes per measure) as an HTML table: in each cell the Making Data Count icon with its words
    (:mod:`qi_equity.reports.icons`; never colour alone). A table rather than a picture, so
    screen readers read every cell and the report stays light."""
    from qi_equity.reports.icons import icon_cell_html

    head = "".join(f"<th scope='col'>{html.escape(str(V.column(c)))}</th>" for c in matrix.columns)
    rows = []
    for rec in matrix.itertuples(index=False, name=None):
        cells = [f"<th scope='row'>{html.escape(str(V.value(rec[0])))}</th>"]
        for icon in rec[1:]:
            icon = None if icon is None or (isinstance(icon, float) and icon != icon) else str(icon)
            cells.append(f"<td>{icon_cell_html('variation', icon) if V.icon('variation', icon) else 'no data'}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<p class='qi-caption'><strong>{html.escape(caption)}</strong></p>" if caption else ""
    return (f"{cap}<div class='qi-scroll'><table class='qi-table qi-icons'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def show_icon_matrix(matrix: pd.DataFrame, caption: str | None = None):
    """Display :func:`icon_matrix_html` (plain-text fallback: the table of icon codes)."""
    from IPython.display import display

    display({"text/html": icon_matrix_html(matrix, caption),
             "text/plain": (caption or "") + "\n" + matrix.to_string(index=False)}, raw=True)
