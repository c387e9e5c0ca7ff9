"""The start-here explorer (qi_equity.reports.explorer) on the bundled sample's metrics."""

import re

import pandas as pd

from qi_equity.reports import collaborative as CR
from qi_equity.reports.explorer import view


def test_view_names_the_groups_it_does_not_chart_and_why():
    m = CR.load("")
    d = m["monthly"]
    d = d[(d["provider_code"] == "XQC") & (d["measure"] == "dna_rate") & (d["dimension"] == "imd_quintile")]
    published = d[d["denominator"] > 0].groupby("group")["value"].count()
    short = sorted(g for g, n in published.items() if 0 < n < 13)
    parts = "".join(view(m, "XQC", "dna_rate", "imd_quintile"))
    if short:
        note = re.search(r"Not charted: (.*?)\. A chart needs at least 13 published months", parts)
        assert note, "the groups left out are not named"
        for g in short:
            assert f"{g} ({published[g]} of" in note.group(1)
    else:
        assert "Not charted" not in parts


def test_view_tables_speak_words():
    m = CR.load("")
    parts = "".join(view(m, "XQA", "completed_over_18", "sex_age")) + "".join(
        view(m, "XQA", "completed_median_wait", "ethnic_group"))
    heads = re.findall(r"<th[^>]*>(.*?)</th>", parts)
    assert heads and not [h for h in heads if re.fullmatch(r"[a-z_]+", h)], heads
    assert "Against the reference" in heads and "Median wait (weeks)" in heads
    table = parts.split("Against the reference")[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in table.split("<tr>")[1:]]
    assert rows and all(re.fullmatch(r"[\d,]+", r[1]) and re.fullmatch(r"[\d,]+", r[2]) for r in rows), rows[:2]
    assert isinstance(m["equity"], pd.DataFrame)
