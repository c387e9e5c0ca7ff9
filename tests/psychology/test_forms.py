"""Offline engagement tools from a questionnaire (qi_equity.psychology.forms): the paper form, the
tally sheet and the data-entry workbook, as people print and type into them."""

import csv
import re
import shutil

import pytest
from bs4 import BeautifulSoup

from qi_equity.cli import main
from qi_equity.psychology.forms import entry_columns, paper_form_html, tally_sheet_html, write_forms
from qi_equity.psychology.questionnaire import load_questionnaire, parse_questionnaire

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
A4_PT = (595.28, 841.89)  # ISO 216 A4 in PostScript points


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    out = tmp_path_factory.mktemp("forms")
    return load_questionnaire("default"), write_forms(load_questionnaire("default"), out)


def _custom(title="Our <b>clinic</b> & you"):
    return parse_questionnaire({
        "id": "ours", "title": title, "consent": {"text": "No names <script>x</script>.", "question": "I agree."},
        "questions": [{"id": "seen", "type": "single", "text": "Were you seen on time?",
                       "options": [{"code": "y", "label": "Yes"}, {"code": "n", "label": "No <i>really</i>"}]},
                      {"id": "wait", "type": "number", "text": "Minutes waited?", "min": 0, "max": 240},
                      {"id": "why", "type": "text", "text": "Why?", "max_length": 300}],
        "demographics": ["age_band"]})


def test_the_paper_form_asks_every_question_with_a_box_for_every_answer(forms):
    q, paths = forms
    soup = BeautifulSoup(paths["paper_form"].read_text(), "html.parser")
    text = soup.get_text(" ")
    for x in q.questions:
        assert x.text in text
        for lab in x.labels:
            assert lab in text
    n_boxes = len(soup.select("ul.opts .box"))
    assert n_boxes == sum(len(x.options) for x in q.questions)
    assert "Reference (staff use)" in text and q.consent_question in text
    assert not soup.find_all(["script", "img", "link"])           # self-contained, opens offline


def test_every_text_from_a_questionnaire_is_escaped():
    page = paper_form_html(_custom())
    assert "<script>" not in page and "<b>clinic</b>" not in page and "<i>really</i>" not in page
    assert "&lt;script&gt;" in page and "Our &lt;b&gt;clinic&lt;/b&gt; &amp; you" in page
    tally = tally_sheet_html(_custom())
    assert "<b>" not in tally and "Our &lt;b&gt;clinic&lt;/b&gt;" in tally and "No &lt;i&gt;really&lt;/i&gt;" in tally


def test_large_print_and_easy_read_print_larger():
    size = lambda page: float(re.search(r"font-size: ([\d.]+)pt", page).group(1))
    q = load_questionnaire("default")
    assert size(paper_form_html(q)) == 12 and size(paper_form_html(q, large_print=True)) >= 16
    assert size(paper_form_html(load_questionnaire("easy_read"))) >= 16


def test_the_tally_sheet_has_a_row_per_answer_of_every_closed_question(forms):
    q, paths = forms
    soup = BeautifulSoup(paths["tally_sheet"].read_text(), "html.parser")
    closed = [x for x in q.questions if x.type in ("single", "multiple", "likert")]
    tables = soup.select("table.tally:not(.event)")
    assert len(tables) == len(closed)
    for t, x in zip(tables, closed):
        assert [tr.find("td").get_text() for tr in t.find_all("tr")[1:]] == x.labels


def test_the_workbook_opens_and_its_validations_hold(forms):
    from openpyxl import load_workbook

    q, paths = forms
    wb = load_workbook(paths["workbook"])
    assert wb.sheetnames == ["Responses", "Lists", "Questions"] and wb["Lists"].sheet_state == "hidden"
    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    assert header == [c for c, _, _ in entry_columns(q)]
    by_col = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_col[header[rng.min_col - 1]] = (dv, rng)
    assert set(by_col) == set(header)                               # every column is validated
    for name, (dv, rng) in by_col.items():
        assert (rng.min_row, rng.max_row) == (2, 1001) and dv.showErrorMessage

    def listed(name):
        ref = by_col[name][0].formula1
        col, lo, hi = re.match(r"=Lists!\$([A-Z]+)\$(\d+):\$[A-Z]+\$(\d+)", ref).groups()
        return [wb["Lists"][f"{col}{r}"].value for r in range(int(lo), int(hi) + 1)]

    assert listed("channel") == ["offline", "event", "online"]
    assert listed("missed") == q.question("missed").labels
    assert listed("barriers:transport") == ["Yes"]                  # a tick-all question: one column per answer
    assert listed("easy_to_rebook") == q.question("easy_to_rebook").labels
    n = by_col["travel_minutes"][0]
    assert (n.type, n.operator, n.formula1, n.formula2) == ("decimal", "between", "0", "600")
    t = by_col["what_would_help"][0]
    assert (t.type, t.operator, t.formula1) == ("textLength", "lessThanOrEqual", "1000")
    assert by_col["response_date"][0].type == "date"


def test_the_csv_twin_and_the_codes(forms):
    q, paths = forms
    with open(paths["csv"], newline="") as f:
        assert next(csv.reader(f)) == [c for c, _, _ in entry_columns(q)]
    with open(paths["codes"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(x.options) for x in q.questions)
    assert {"question_id": "ethnic_category", "code": "N", "label": "Black or Black British: African"} in rows


def test_a_custom_questionnaire_flows_through_the_command(tmp_path, capsys):
    import yaml

    f = tmp_path / "ours.yaml"
    f.write_text(yaml.safe_dump({"id": "ours", "title": "Our clinic", "consent": {"text": "Anonymous.", "question": "OK"},
                                 "questions": [{"id": "wait", "type": "number", "text": "Minutes?", "max": 90, "min": 0}]}))
    assert main(["engagement", "forms", str(f), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "codes.csv", "data_entry.csv", "data_entry.xlsx", "paper_form.html", "paper_form_large_print.html",
        "tally_sheet.html"]
    assert "Our clinic (1 questions)" in capsys.readouterr().out
    f.write_text("id: ours\ntitle: t\nquestions: []\n")
    assert main(["engagement", "forms", str(f), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "ours.yaml" in err and "key 'consent'" in err and "key 'questions'" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()                          # nothing written


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed: the print check did not run")
@pytest.mark.parametrize("name", ["paper_form", "paper_form_large_print", "tally_sheet"])
def test_the_forms_print_on_a4_in_a_real_browser(forms, name):
    from playwright.sync_api import sync_playwright

    q, paths = forms
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                               "--disable-background-networking"])
        pg = b.new_page(viewport={"width": 794, "height": 1123})
        pg.goto(paths[name].as_uri())
        pg.emulate_media(media="print")
        # nothing wider than the printable width (A4 less 15 mm margins each side)
        assert pg.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        # no question split across two pages: each question's block avoids breaks inside
        assert pg.evaluate("[...document.querySelectorAll('li.q, table.tally')].every("
                           "e => getComputedStyle(e).breakInside === 'avoid')")
        pdf = pg.pdf(prefer_css_page_size=True)
        b.close()
    sizes = [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]
    assert sizes and all(abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2 for w, h in sizes)
    assert len(sizes) <= 6
