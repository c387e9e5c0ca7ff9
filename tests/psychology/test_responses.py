"""Responses from every channel, checked and merged (qi_equity.psychology.responses)."""

import pandas as pd
import pytest
from openpyxl import load_workbook

from qi_equity.cli import main
from qi_equity.data.validation import ContractError
from qi_equity.psychology.engagement import validate_engagement
from qi_equity.psychology.forms import write_forms
from qi_equity.psychology.questionnaire import load_questionnaire
from qi_equity.psychology.responses import (Source, check_source, load_survey_mapping, merge_responses,
                                            respondent_groups, to_engagement_log)

Q = load_questionnaire("default")
PAPER = [  # typed into the workbook as a person would: wordings from the drop-downs, or codes
    {"respondent_ref": "MKT-01", "channel": "offline", "response_date": "2026-02-03", "consent": "Yes",
     "missed": "Yes", "barriers:transport": "Yes", "barriers:cost": "Yes", "easy_to_rebook": "Disagree",
     "travel_minutes": 45, "what_would_help": "Evening clinics", "age_band": "30 to 44", "sex": "Female",
     "ethnic_category": "N"},
    {"respondent_ref": "MKT-02", "channel": "event", "response_date": "2026-02-03", "consent": "No", "missed": "no"},
    {"respondent_ref": None, "channel": "offline", "consent": "Yes", "missed": "not_sure", "age_band": "75+",
     "sex": "M", "ethnic_category": "A", "barriers:transport": "Yes"},
]
ONLINE = [
    {"respondent_ref": "MKT-01", "channel": "online", "response_date": "2026-02-10", "consent": "Yes",
     "what_works": "Text reminders", "missed": "no"},
    {"respondent_ref": "ON-7", "channel": "online", "response_date": "2026-02-11", "consent": "Yes", "missed": "yes",
     "barriers:working_hours": "Yes", "age_band": "16-29", "sex": "F", "ethnic_category": "H"},
]
MSFORMS = pd.DataFrame({"ID": [1, 2], "Completion time": ["2/14/26 10:01:00", "2/15/26 11:00:00"],
                        "Have you missed an appointment?": ["Yes", "No"],
                        "What makes it hard?": ["Travel and transport;Looking after someone;", "Nothing makes it hard;"],
                        "Do you agree?": ["Yes", "Yes"]})
MAPPING = """columns:
  "Have you missed an appointment?": missed
  "What makes it hard?": barriers
separator: ";"
channel: online
consent: "Do you agree?"
response_date: "Completion time"
date_format: "%m/%d/%y %H:%M:%S"
"""


@pytest.fixture()
def sources(tmp_path):
    paths = write_forms(Q, tmp_path / "forms")
    wb = load_workbook(paths["workbook"])
    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    for r, row in enumerate(PAPER, 2):
        for k, v in row.items():
            ws.cell(row=r, column=header.index(k) + 1, value=v)
    wb.save(tmp_path / "paper.xlsx")
    pd.DataFrame(ONLINE).to_csv(tmp_path / "online.csv", index=False)
    MSFORMS.to_excel(tmp_path / "msforms.xlsx", index=False)
    (tmp_path / "msforms.yaml").write_text(MAPPING)
    return tmp_path


def test_paper_online_and_survey_tool_merge_into_the_documented_counts(sources):
    t = sources
    r = merge_responses([Source(t / "paper.xlsx"), Source(t / "online.csv"),
                         Source(t / "msforms.xlsx", t / "msforms.yaml")], Q)
    s = r.summary.set_index("source")
    # 7 rows read: 1 without consent set aside, MKT-01 online merged into its paper form, 5 respondents
    assert s.loc["total"].tolist() == [7, 1, 1, 5]
    assert s.loc["paper.xlsx"].tolist() == [3, 1, 0, 2] and s.loc["online.csv"].tolist() == [2, 0, 1, 1]
    assert len(r.responses) == 5
    one = r.responses.set_index("respondent_ref").loc["MKT-01"]
    assert one["channel"] == "offline;online" and one["sources"] == "paper.xlsx;online.csv"
    assert one["missed"] == "yes"                       # the first source's answer stands
    assert one["what_works"] == "Text reminders"        # a gap filled from the later source
    assert one["barriers"] == "transport;cost" and one["easy_to_rebook"] == "disagree"
    assert one["age_band"] == "30-44" and one["sex"] == "F" and one["travel_minutes"] == 45
    ms = r.responses[r.responses["sources"] == "msforms.xlsx"]
    assert ms["barriers"].tolist() == ["transport;caring_responsibilities", "none"]
    assert ms["response_date"].tolist() == ["2026-02-14", "2026-02-15"] and set(ms["channel"]) == {"online"}
    assert "MKT-02" not in set(r.responses["respondent_ref"])   # no consent: not kept


def test_a_bad_source_names_file_column_rule_and_rows_and_never_echoes_free_text(tmp_path):
    df = pd.DataFrame({"respondent_ref": ["A", "B"], "channel": ["paper", "online"], "consent": ["Yes", "maybe"],
                       "missed": ["perhaps", "yes"], "travel_minutes": ["900", "x"],
                       "what_would_help": ["my name is Ann Smith " * 100, "ok"], "shoe_size": ["9", "10"]})
    rep = check_source(df, Q, "bad.csv")
    msg = rep.format()
    for w in ["bad.csv", "channel: must be one of offline, event, online -- 1 of 2",
              "consent: must be Yes or No -- 1 of 2", "missed: must be one of its codes or answers",
              "travel_minutes: must be a number -- 1 of 2", "travel_minutes: must be from 0 to 600 -- 1 of 2",
              "what_would_help: must be at most 1000 characters -- 1 of 2", "shoe_size: is not a column"]:
        assert w in msg, (w, msg)
    assert "Ann Smith" not in msg
    (tmp_path / "bad.csv").write_text(df.to_csv(index=False))
    with pytest.raises(ContractError):
        merge_responses([Source(tmp_path / "bad.csv")], Q)


def test_a_survey_mapping_is_checked(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text('columns: {"Q1": missed, "Q2": favourite_colour}\nchannel: post\n')
    with pytest.raises(ValueError) as e:
        load_survey_mapping(f, Q)
    assert "m.yaml" in str(e.value) and "favourite_colour" in str(e.value) and "key 'channel'" in str(e.value)
    f.write_text('columns: {"Q1": missed}\nconsent: "Agree?"\n')
    (tmp_path / "x.csv").write_text("Q1\nYes\n")
    with pytest.raises(ContractError, match="Agree\\?: column named in the mapping is missing"):
        merge_responses([Source(tmp_path / "x.csv", f)], Q)


def test_the_command_writes_the_merged_table_and_refuses_a_bad_source(sources, capsys):
    t = sources
    out = t / "merged" / "responses.csv"
    assert main(["engagement", "merge", "default", str(t / "paper.xlsx"), str(t / "online.csv"),
                 "--survey", str(t / "msforms.xlsx"), str(t / "msforms.yaml"), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5 and "5 respondent(s) written" in capsys.readouterr().out
    (t / "bad.csv").write_text("channel,consent,missed\nonline,Yes,maybe\n")
    assert main(["engagement", "merge", "default", str(t / "bad.csv"), "--out", str(t / "r2.csv")]) == 1
    assert "missed: must be one of" in capsys.readouterr().err and not (t / "r2.csv").exists()


def test_merged_responses_become_the_engagement_log_the_reports_read(sources):
    t = sources
    r = merge_responses([Source(t / "paper.xlsx"), Source(t / "online.csv"),
                         Source(t / "msforms.xlsx", t / "msforms.yaml")], Q)
    g = respondent_groups(r.responses).set_index(r.responses.index)
    assert sorted(g["sex_age"]) == ["", "", "Female 16-64", "Female 16-64", "Male 65+"]
    assert sorted(g["ethnic_group"]) == ["", "", "Asian", "Black", "White"]
    log = to_engagement_log(r.responses, Q, "XQB", "XQB-S1", "2026-02-28")
    assert validate_engagement(log["activities"], log["reach"], log["barriers"]).ok
    acts = log["activities"].set_index("channel")["participants"]
    assert acts.to_dict() == {"offline": 2, "online": 3}        # the merged person counts under the first channel
    b = log["barriers"]
    assert b[(b["dimension"] == "sex_age") & (b["group"] == "Male 65+")]["theme"].tolist() == ["transport"]
    assert "none" not in set(b["theme"])


def test_the_online_form_adds_checked_answers_and_says_why_not(tmp_path):
    import ipywidgets as W

    from qi_equity.reports.questionnaire_form import questionnaire_form

    path = tmp_path / "online.csv"
    ui = questionnaire_form(Q, str(path))
    kids = list(ui.children)
    button, message = kids[-2], kids[-1]
    consent = next(w for w in kids if isinstance(w, W.Checkbox))
    radios = [w for w in kids if isinstance(w, W.RadioButtons)]
    texts = [w for w in kids if isinstance(w, W.Text) and "number" in (w.placeholder or "")]
    ticks = [w for w in kids if isinstance(w, W.VBox)]
    radios[0].value = "yes"                     # missed an appointment
    ticks[0].children[2].value = True           # appointments in my working hours
    texts[0].value = "900"                      # out of range: refused, nothing saved
    consent.value = True
    button.click()
    assert "travel_minutes: must be from 0 to 600" in message.value and "Nothing was saved" in message.value
    assert not path.exists()
    texts[0].value = "40"
    button.click()
    assert "saved (1 response(s)" in message.value and 'download' in message.value
    r = merge_responses([Source(path)], Q).responses
    assert r.loc[0, "missed"] == "yes" and r.loc[0, "barriers"] == "working_hours" and r.loc[0, "travel_minutes"] == 40
    assert r.loc[0, "channel"] == "online"


def test_the_sample_sources_merge_into_the_documented_counts():
    # docs/engagement.md: 95 rows read, 2 without consent, 5 merged (paper + online), 88 respondents
    from _support import SAMPLE

    src = SAMPLE / "engagement_responses" / "XQB"
    r = merge_responses([Source(src / "paper.csv"), Source(src / "online.csv"),
                         Source(src / "forms_export.csv", src / "forms_export_mapping.yaml")], Q)
    assert r.summary.set_index("source").loc["total"].tolist() == [95, 2, 5, 88]
    assert len(r.responses) == 88
