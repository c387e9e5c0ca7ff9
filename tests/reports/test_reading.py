"""What a reader sees in the sample collaborative's reports: words, not codes; a title per page."""

import re

import yaml
from bs4 import BeautifulSoup

from _support import SAMPLE
from qi_equity.data import vocabulary as V

SNAKE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")


def _visible(page) -> BeautifulSoup:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for t in soup(["style", "script", "title"]):
        t.decompose()
    return soup


def _codes() -> set[str]:
    """Every code the vocabulary gives words for (column names, icons, dimensions, measures, values)."""
    v = V.vocabulary()
    codes = set(v["columns"]) | set(v["dimensions"]) | set(v["measures"]) | set(v["kinds"]) | set(v["stages"])
    codes |= set(v["icons"]["variation"]) | set(v["icons"]["assurance"])
    return codes | {k for k in v["values"] if k != str(v["values"][k])}


def test_no_raw_identifier_in_any_report(sample_run):
    code, folder = sample_run
    assert code == 0
    pages = sorted(folder.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "collaborative.html", "XQA.html", "XQF.html"}
    codes = _codes()
    found = {}
    for page in pages:
        soup = _visible(page)
        text = soup.get_text(" ")
        for m in SNAKE.finditer(text):  # any snake_case identifier in the visible text
            found.setdefault((page.name, m.group()), text[max(0, m.start() - 60):m.end() + 20])
        for cell in soup.find_all(["th", "td"]):  # a heading or cell that is itself a code
            t = cell.get_text(" ", strip=True)
            if t in codes and V.value(t) != t or t in V.vocabulary()["columns"] and cell.name == "th":
                found.setdefault((page.name, t), cell.name)
            assert t not in ("True", "False", "nan", "None", "<NA>"), (page.name, t)
    assert not found, found


def test_counts_print_as_whole_numbers(sample_run):
    for page in sorted(sample_run[1].glob("*.html")):
        cells = [td.get_text(strip=True) for td in _visible(page).find_all("td")]
        assert not [c for c in cells if re.fullmatch(r"\d{1,3}(,\d{3})+\.0", c)], page.name


def test_every_page_has_its_own_title(sample_run):
    folder = sample_run[1]
    cfg = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())
    titles = {p.name: BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").title.get_text()
              for p in folder.glob("*.html")}
    for prov in cfg["providers"]:
        assert titles[f"{prov['code']}.html"] == f"{prov['name']} ({prov['code']}): equity report"
    assert titles["collaborative.html"] == f"{cfg['title']}: collaborative equity report"
    assert "Notebook" not in titles.values()


def test_every_finding_shows_its_actions_or_that_none_is_recorded(sample_run):
    """Each headline finding ("What stands out" and its detail section) carries its actions or "No
    action recorded"; each related finding its action ids or "no action recorded"; the sample's
    action log shows up where it should, across the collaborative too."""
    folder = sample_run[1]
    seen = set()
    for prov in yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())["providers"]:
        soup = _visible(folder / f"{prov['code']}.html")
        items = soup.select("li.qi-finding")
        for li in items:
            line = li.select_one("div.qi-actions")
            assert line is not None, (prov["code"], li.get_text()[:80])
            seen.add(line.get_text(" ", strip=True).split(" ")[0])
        for sec in soup.select("section.qi-finding-detail"):
            assert sec.select_one("div.qi-actions") is not None, prov["code"]
            for li in sec.select("details li"):
                t = li.get_text(" ", strip=True)
                assert "(action " in t or "no action recorded" in t, (prov["code"], t[:80])
        text = soup.get_text(" ")
        assert "Actions on the findings" in text
        if prov["code"] == "XQB":
            assert "XQB-A1" in text and "Co-design evening and weekend clinic slots" in text
        if prov["code"] == "XQF":  # nothing planted, nothing found, no action
            assert not items and "No action is recorded for this provider yet" in text
    assert seen <= {"Actions", "No"} and "Actions" in seen and "No" in seen
    collab = _visible(folder / "collaborative.html").get_text(" ")
    assert "Actions across the collaborative" in collab and "Actions by provider and status" in collab
    for action_id in ("XQA-A1", "XQA-A2", "XQB-A1", "XQC-A1", "XQD-A1", "XQD-A2"):
        assert action_id in collab


def test_nasss_flows_into_the_reports(sample_run):
    folder = sample_run[1]
    xqb = _visible(folder / "XQB.html").get_text(" ")
    assert "How complex is the change? (NASSS)" in xqb and "Evening and weekend clinics for working-age women" in xqb
    assert "Before (Oct 2025)" in xqb and "2 of 7 domains rated complex" in xqb
    assert "No NASSS assessment for this provider yet" in _visible(folder / "XQE.html").get_text(" ")
    collab = _visible(folder / "collaborative.html")
    assert "Change projects by NASSS domain" in collab.get_text(" ")
    heads = [th.get_text(strip=True) for th in collab.find_all("th")]
    assert "The adopters" in heads and "Domains rated complex" in heads


def test_two_rounds_of_the_canvas_and_who_can_help_whom(sample_run):
    folder = sample_run[1]
    xqa = _visible(folder / "XQA.html").get_text(" ")
    assert "Movement since the first self-assessment" in xqa and "Apr 2025" in xqa and "Jan 2026" in xqa
    assert "Movement since the first self-assessment" not in _visible(folder / "XQC.html").get_text(" ")
    collab = _visible(folder / "collaborative.html").get_text(" ")
    assert "Who can help whom" in collab and "Plan agreed at the" in collab


def test_pdsa_cycles_on_a_gap_and_on_a_teams_own_series(sample_run):
    folder = sample_run[1]
    xqc = _visible(folder / "XQC.html")
    alts = [img.get("alt", "") for img in xqc.find_all("img")]
    assert any("gap, Q1 most deprived minus Q5 least deprived, with PDSA cycles" in a for a in alts)
    xqb = _visible(folder / "XQB.html")
    assert any("XQB people opting in, with PDSA cycles" in img.get("alt", "") for img in xqb.find_all("img"))
    text = xqb.get_text(" ")
    assert "Numeric predictions against the series" in text and "running" in text
    table = [t for t in xqb.find_all("table") if "Predicted" in t.get_text()][0]
    cells = [td.get_text(strip=True) for td in table.find_all("td")]
    assert cells == ["2", "30.0", "Mar 2026", "32.9", "Mar 2026", "met"]  # 24 of 73 opted in: 32.9%


def test_lens_worksheets_flow_into_the_reports(sample_run):
    folder = sample_run[1]
    xqb = _visible(folder / "XQB.html")
    text = xqb.get_text(" ")
    for title in ("Appreciation for a system", "Theory of knowledge", "Intentional equity"):
        assert f"{title}: what the team said" in text
    assert "No psychology of change worksheet answered for this provider yet" in text
    ie = [t for t in xqb.find_all("table") if "Intentional equity" in (t.find_previous("p") or xqb).get_text()][-1]
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in ie.find_all("tr")[1:]]
    assert [r[-2:] for r in rows] == [["3 doing", "1 aware"], ["2 planning", "1 aware"]]  # D2 then O3
    collab = _visible(folder / "collaborative.html").get_text(" ")
    assert "Theory of knowledge: what the teams said" in collab and "Psychology of change: what the teams said" in collab


def test_a_driver_diagram_aim_that_is_a_gap_is_charted_as_one(sample_run):
    alts = [img.get("alt", "") for img in _visible(sample_run[1] / "XQB.html").find_all("img")]
    aim = [a for a in alts if "The aim's measure" in a]
    assert aim and "gap, Female 16-64 minus Male 16-64" in aim[0].replace("\n", " ")


def test_core20plus5_areas_flow_into_the_reports(sample_run):
    # the areas come from the extracts' treatment functions (nobody names them), each with its table
    folder = sample_run[1]
    for code in ("XQC", "XQF"):
        page = _visible(folder / f"{code}.html")
        heads = [h.get_text(" ", strip=True).rstrip(" ¶") for h in page.find_all("h3")]
        assert [h for h in heads if h.startswith(("Adults:", "Children and young people:"))] == [
            "Adults: Chronic respiratory disease", "Adults: Hypertension case-finding",
            "Children and young people: Asthma", "Children and young people: Oral health"]
        text = page.get_text(" ")
        assert "Core20PLUS5: the clinical areas" in text and "Deprivation (Core20)" in text
        cells = [td.get("data-cell", "") for td in page.find_all("td")]
        assert any("|c20p5:hypertension:320|core20|Core20" in c for c in cells)
    xqf = _visible(folder / "XQF.html").get_text(" ")
    assert xqf.count("found no gap and no change in these services") == 4
    assert "Across all services together" not in xqf          # the quiet trust stays quiet
    assert "Across all services together" in _visible(folder / "XQC.html").get_text(" ")
    collab = _visible(folder / "collaborative.html")
    assert "Core20 against the rest, by clinical area and provider" in collab.get_text(" ")
    heads = [th.get_text(strip=True) for th in collab.find_all("th")]
    assert "DNA % (Core20)" in heads and "% over 18 wk (rest)" in heads


def test_what_people_told_us_flows_into_the_report_with_no_identifier_anywhere(sample_run):
    # the sample's questionnaire answers at XQB (docs/engagement.md): who answered, themes by group,
    # coder agreement, quotes and the co-design workshop; two free texts carry planted identifiers
    from qi_equity.psychology.scrub import has_identifier

    folder = sample_run[1]
    xqb = _visible(folder / "XQB.html")
    text = xqb.get_text(" ")
    for words in ("What people told us", "88 people answered", "Who answered, by sex and working age",
                  "What each group told us most", "Cohen's kappa", "In their words",
                  "Co-design workshop", "Evening and weekend clinics"):
        assert words in text, words
    quotes = [li.get_text() for li in xqb.find_all("li") if li.get_text().startswith('"')]
    assert quotes and not any(has_identifier(q) for q in quotes)
    assert "No questionnaire responses for this provider yet" in _visible(folder / "XQA.html").get_text(" ")
    for f in folder.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".json"):
            body = f.read_text(encoding="utf-8", errors="replace")
            assert "07700 900123" not in body and "grace.okafor@example.com" not in body and "Grace Okafor" not in body
