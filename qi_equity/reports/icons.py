"""Making Data Count icons as inline SVG, drawn from the display vocabulary's icon entries.

The variation icons are a circle in the icon's colour holding a short run of points (flat for
common cause, rising or falling for a special cause, the last points in the icon's colour) and,
for a special cause, the letter H or L; the assurance icons are a circle holding a dashed target
line and the letter P, F or ?. Colours, letters and words come from ``vocabulary.yaml``
(``icons``), so a code has one look and one set of words everywhere. Every icon carries its
words as its text alternative (``role="img"``, ``aria-label`` and ``<title>``), and the tables
print the words beside it: colour is never the only signal.

References
----------
NHS England and NHS Improvement (2019). *Making Data Count: Getting started*, the variation and
assurance icons (pp. 8-9). NHS England (2021). *Making Data Count: Strengthening your decisions*.
"""

from __future__ import annotations

import html

from qi_equity.data import vocabulary as V

# x positions of the icon's run of points (viewBox 0 0 40 40) and their heights by shape
_XS = (9.0, 14.5, 20.0, 25.5, 31.0)
_YS = {"flat": (24, 24, 24, 24, 24), "up": (28, 28, 27, 22, 19), "down": (20, 20, 21, 26, 29)}


def icon_svg(kind: str, code, size: int = 30) -> str:
    """The icon for ``code`` as inline SVG (``kind`` "variation" or "assurance"); "" when there is
    no such icon (a missing value or an unknown code)."""
    entry = V.icon(kind, code)
    if entry is None:
        return ""
    colour, letter = entry["colour"], entry.get("letter", "")
    ring = "#a6a6a6" if colour.lower() == "#ffffff" else colour
    label = html.escape(entry["label"], quote=True)
    parts = [f'<circle cx="20" cy="20" r="17" fill="#ffffff" stroke="{ring}" stroke-width="3"/>']
    if kind == "variation":
        ys = _YS.get(entry.get("points", "flat"))
        if ys is not None:
            special = entry.get("points") in ("up", "down")
            for i, (x, y) in enumerate(zip(_XS, ys)):
                fill = colour if special and i >= 3 else "#7f7f7f"
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.3" fill="{fill}"/>')
        if letter:
            parts.append(f'<text x="20" y="{16 if ys else 26}" font-size="{12 if ys else 16}" font-weight="700" '
                         f'text-anchor="middle" fill="{ring}" font-family="Arial, sans-serif">{html.escape(letter)}</text>')
    else:
        parts.append('<line x1="7" y1="27" x2="33" y2="27" stroke="#e40000" stroke-width="1.6" stroke-dasharray="3 2"/>')
        parts.append(f'<text x="20" y="23" font-size="17" font-weight="700" text-anchor="middle" fill="{ring}" '
                     f'font-family="Arial, sans-serif">{html.escape(letter)}</text>')
    return (f'<svg class="qi-icon" role="img" aria-label="{label}" width="{size}" height="{size}" '
            f'viewBox="0 0 40 40" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{"".join(parts)}</svg>')


def icon_cell_html(kind: str, code, text: str | None = None) -> str:
    """A table cell's content: the icon and its words (``text``, default the vocabulary's short
    words), every text escaped."""
    words = text if text is not None else V.icon_text(kind, code)
    return f'<span class="qi-icon-cell">{icon_svg(kind, code)}{html.escape(str(words))}</span>'


# What a findings scan says about a series over time -> the icon that reads the same (the
# summary's measures are all "higher is worse", so a rise is a concern and a fall an improvement).
SCAN_ICON = {"widening": "concern_high", "deteriorating": "concern_high", "narrowing": "improvement_low",
             "improving": "improvement_low", "no change found": "common_cause", "too few to tell": "too_few"}


def scan_icon(text) -> str | None:
    """The variation icon for a scan's words ("widening since May 2025" -> ``concern_high``)."""
    if not isinstance(text, str):
        return None
    for start, code in SCAN_ICON.items():
        if text.startswith(start):
            return code
    return None
