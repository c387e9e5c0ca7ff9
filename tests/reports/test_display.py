"""Report tables and icons (qi_equity.reports.display, qi_equity.reports.icons)."""

import re

import pandas as pd

from qi_equity.reports.display import table_html
from qi_equity.reports.icons import icon_cell_html, icon_svg, scan_icon


def _cells(html_, tag="td"):
    return re.findall(rf"<{tag}(?=[\s>])([^>]*)>(.*?)</{tag}>", html_)


def test_text_left_numbers_right_counts_whole():
    df = pd.DataFrame({"group": ["Female 16-64", "Male 16-64"], "count": [2700.0, 31.0],
                       "percent": ["27.9 (26.5-29.5)", "*"], "role": ["nurse", "manager"]})
    h = table_html(df)
    heads = _cells(h, "th")
    assert [t for _, t in heads] == ["Group", "Count", "%", "Role"]
    assert [("qi-num" in a) for a, _ in heads] == [False, True, True, False]
    cells = _cells(h)
    assert [t for _, t in cells[:4]] == ["Female 16-64", "2,700", "27.9 (26.5-29.5)", "Nurse"]
    assert [("qi-num" in a) for a, _ in cells[:4]] == [False, True, True, False]
    assert h.startswith('<div class="qi-scroll">')  # a wide table scrolls in its own box


def test_a_column_of_hidden_numbers_is_still_aligned_as_numbers():
    # every DNA rate of a small table suppressed: "*" and blanks only, still a number column
    df = pd.DataFrame({"Group": ["Core20", "Not Core20"], "DNA % (95% CI)": ["*", ""], "Note": ["", ""]})
    cells = _cells(table_html(df))
    assert [("qi-num" in a) for a, _ in cells[:3]] == [False, True, False]


def test_every_text_is_escaped():
    h = table_html(pd.DataFrame({"<b>col</b>": ["<script>x</script>"]}), caption="<i>c</i>", note="a & b")
    assert "<script>" not in h and "&lt;script&gt;" in h and "&lt;b&gt;col" in h and "&lt;i&gt;" in h
    assert "a &amp; b" in h


def test_icon_columns_draw_the_icon_with_its_words():
    df = pd.DataFrame({"Measure": ["a", "b", "c"], "Assurance": ["fail", None, "pass"],
                       "Over time": ["widening since May 2025", "no change found", "too few to tell"]})
    df.attrs["icons"] = {"Assurance": "assurance", "Over time": "scan"}
    cells = [t for _, t in _cells(table_html(df))]
    assert 'aria-label="consistently misses the target"' in cells[1] and "misses the target</span>" in cells[1]
    assert cells[4] == ""  # no assurance without a target
    assert 'aria-label="special cause: concern (higher)"' in cells[2] and "widening since May 2025" in cells[2]
    assert 'aria-label="common cause variation"' in cells[5]
    assert 'aria-label="too few points to tell"' in cells[8]


def test_icon_svg_is_data_driven_and_escaped():
    svg = icon_svg("variation", "improvement_low")
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>special cause: improvement (lower)</title>" in svg
    assert ">L</text>" in svg and "#00b0f0" in svg
    assert ">F</text>" in icon_svg("assurance", "fail") and "#e46c0a" in icon_svg("assurance", "fail")
    assert icon_svg("variation", None) == "" and icon_svg("variation", "nonsense") == ""
    assert "&lt;x&gt;" in icon_cell_html("assurance", "pass", "<x>")


def test_scan_words_to_icons():
    assert scan_icon("deteriorating since July 2025") == "concern_high"
    assert scan_icon("narrowing since 2024") == "improvement_low"
    assert scan_icon("no change found") == "common_cause"
    assert scan_icon("something else") is None and scan_icon(None) is None
