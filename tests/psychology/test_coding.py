"""Coding free text (qi_equity.psychology.coding): the sheet, the checks, agreement, themes, quotes."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.data.validation import ContractError
from qi_equity.psychology.coding import (agreement, check_coded, co_occurrence, coding_sheet, load_coded,
                                         load_coding_frame, quotes, theme_frequencies)
from qi_equity.psychology.questionnaire import load_questionnaire
from qi_equity.psychology.scrub import has_identifier

Q = load_questionnaire("default")
FRAME = load_coding_frame()


def _responses(texts, sex="F", age="30-44"):
    return pd.DataFrame({"respondent_ref": [f"R{k}" for k in range(len(texts))], "channel": "offline",
                         "response_date": "", "sources": "x", "sex": sex, "age_band": age, "ethnic_category": "A",
                         "what_would_help": texts, "what_works": ""})


def test_the_default_frame_has_barriers_assets_and_ideas():
    assert set(FRAME["kind"]) == {"barrier", "asset", "idea"}
    assert FRAME["code"].is_unique and "working_hours" in set(FRAME["code"])


def test_a_custom_frame_and_its_errors(tmp_path):
    f = tmp_path / "ours.yaml"
    f.write_text("id: ours\ncodes:\n  - {code: parking, label: Parking, kind: barrier}\n"
                 "  - {code: parking, label: Again, kind: wish}\n")
    with pytest.raises(ValueError) as e:
        load_coding_frame(f)
    assert "ours.yaml" in str(e.value) and "given twice" in str(e.value) and "key 'kind'" in str(e.value)
    f.write_text("id: ours\ncodes:\n  - {code: parking, label: Parking, kind: barrier}\n  - {code: cafe, label: Cafe}\n")
    assert load_coding_frame(f)["code"].tolist() == ["parking", "cafe"]


def test_the_sheet_lists_every_free_text_answer_scrubbed():
    r = _responses(["Evening clinics", "Call me on 07700 900123", ""])
    s = coding_sheet(r, Q)
    assert s["item_id"].tolist() == ["R0:what_would_help", "R1:what_would_help"]
    assert s["text"].tolist() == ["Evening clinics", "Call me on [phone]"]
    assert set(s["sex_age"]) == {"Female 16-64"} and (s["codes"] == "").all()


def test_a_coded_sheet_is_checked_naming_column_rule_and_rows(tmp_path):
    sheet = coding_sheet(_responses(["a", "b"]), Q)
    bad = sheet.assign(codes=["working_hours;parking", "cost"], coder=["EL", ""])
    bad = pd.concat([bad, bad.iloc[:1]])
    rep = check_coded(bad, FRAME, sheet, "coded.csv").format()
    assert "coded.csv" in rep and "codes: each must be a code of the coding frame" in rep and "1 of 3" in rep
    assert "coder: must not be empty" in rep and "item_id: each item once per coder -- 2 of 3" in rep
    (tmp_path / "coded.csv").write_text(bad.to_csv(index=False))
    with pytest.raises(ContractError):
        load_coded(tmp_path / "coded.csv", FRAME, sheet)


def test_cohens_kappa_against_a_hand_worked_table():
    # 10 items; coder A codes "transport" on items 0-3, coder B on 0-2 and 4: both 3, neither 5,
    # one each alone. p_o = 0.8; p_e = 0.4 x 0.4 + 0.6 x 0.6 = 0.52; kappa = 0.28 / 0.48 = 0.58333
    items = [f"R{k}:what_would_help" for k in range(10)]
    a = pd.DataFrame({"item_id": items, "coder": "A", "codes": [["transport"] if k < 4 else [] for k in range(10)]})
    b = pd.DataFrame({"item_id": items, "coder": "B", "codes": [["transport"] if k in (0, 1, 2, 4) else []
                                                               for k in range(10)]})
    k = agreement(pd.concat([a, b], ignore_index=True), FRAME).set_index("code")
    row = k.loc["transport"]
    assert (row["both"], row["neither"], row["only_first"], row["only_second"]) == (3, 5, 1, 1)
    assert row["observed"] == pytest.approx(0.8) and row["chance"] == pytest.approx(0.52)
    assert row["kappa"] == pytest.approx(0.28 / 0.48)
    assert np.isnan(k.loc["cost", "kappa"])           # never coded by either: chance agreement 1
    assert agreement(a, FRAME).empty                   # one coder: no agreement to measure


def test_themes_by_group_co_occurrence_and_quotes_only_from_big_enough_groups():
    women = _responses([f"Evening clinics please {k}" for k in range(6)])
    men = _responses(["I am Dr Patel's patient, ring 07700 900456", "weekend"], sex="M", age="45-64")
    men["respondent_ref"] = ["M0", "M1"]
    r = pd.concat([women, men], ignore_index=True)
    sheet = coding_sheet(r, Q)
    coded = sheet.assign(codes=[["flexible_times", "working_hours"]] * 6 + [["flexible_times"], ["flexible_times"]],
                         coder="EL")
    f = theme_frequencies(coded, sheet, FRAME).set_index(["group", "code"])
    assert f.loc[("Female 16-64", "working_hours"), ["respondents", "raised"]].tolist() == [6, 6]
    assert f.loc[("Male 16-64", "flexible_times"), ["respondents", "raised"]].tolist() == [2, 2]
    lo, hi = f.loc[("Male 16-64", "flexible_times"), ["share_lower", "share_upper"]]
    assert lo == pytest.approx(0.342372, abs=1e-5) and hi == 1.0   # Wilson, 2 of 2 (PHE tables: 34.2-100)
    m = co_occurrence(coded, sheet, FRAME)
    assert m.loc["flexible_times", "working_hours"] == 6 and m.loc["flexible_times", "flexible_times"] == 8
    qs = quotes(coded, sheet, FRAME, threshold=5)
    assert set(qs["group"]) == {"Female 16-64"}       # the men's group (2 people) is never quoted
    assert not qs["quote"].map(has_identifier).any() and len(qs[qs["code"] == "flexible_times"]) == 2


def test_the_reports_tables_protect_small_groups_and_their_themes():
    from qi_equity.publication.protect import Rule
    from qi_equity.reports.voices import voices_tables

    women = _responses([f"text {k}" for k in range(8)])
    men = _responses(["a", "b"], sex="M", age="45-64")
    men["respondent_ref"] = ["M0", "M1"]
    r = pd.concat([women, men], ignore_index=True)
    sheet = coding_sheet(r, Q)
    coded = sheet.assign(codes=[["working_hours"]] * 8 + [["transport"], ["transport"]], coder="EL")
    t = voices_tables(r, Q, None, "XQB", Rule(threshold=5), coded, sheet, FRAME)
    reach = t["reach"].data.set_index("group")
    assert np.isnan(reach.loc["Male 16-64", "respondents"])      # 2 people: hidden, and its share too
    assert np.isnan(reach.loc["Male 16-64", "share"])
    # the total (10) is published, so one more group is hidden: 10 - 8 would give the 2 back
    assert np.isnan(reach.loc["Female 16-64", "respondents"])
    assert (reach.drop(index=["Male 16-64", "Female 16-64"])["respondents"] == 0).all()   # zeros are published
    themes = t["themes"].data.set_index(["group", "code"])
    assert np.isnan(themes.loc[("Male 16-64", "transport"), "raised"])


def test_a_custom_questionnaire_and_a_custom_frame_flow_through_every_step(tmp_path):
    # forms -> typed-in workbook -> merge -> coding sheet -> coded by two coders -> the report's tables
    import yaml
    from openpyxl import load_workbook

    from qi_equity.psychology.forms import write_forms
    from qi_equity.publication.protect import Rule
    from qi_equity.reports.voices import voices_data

    folder = tmp_path / "engagement_responses" / "XQC"
    folder.mkdir(parents=True)
    (folder / "questionnaire.yaml").write_text(yaml.safe_dump({
        "id": "eye_clinic", "title": "Your eye clinic", "consent": {"text": "Anonymous.", "question": "I agree."},
        "questions": [{"id": "on_time", "type": "single", "text": "Seen on time?",
                       "options": [{"code": "y", "label": "Yes"}, {"code": "n", "label": "No"}]},
                      {"id": "say", "type": "text", "text": "Anything else?"}],
        "demographics": ["age_band", "sex"]}))
    (folder / "coding_frame.yaml").write_text("id: eyes\ncodes:\n  - {code: parking, label: Parking, kind: barrier}\n"
                                              "  - {code: friendly, label: Friendly staff, kind: asset}\n")
    from qi_equity.psychology.questionnaire import load_questionnaire

    q = load_questionnaire(folder / "questionnaire.yaml")
    paths = write_forms(q, tmp_path / "forms")
    wb = load_workbook(paths["workbook"])
    ws = wb["Responses"]
    head = [c.value for c in ws[1]]
    for r in range(2, 10):
        row = {"respondent_ref": f"E{r}", "channel": "offline", "consent": "Yes", "on_time": "No",
               "say": "No parking at all" if r % 2 else "Friendly staff, no parking", "age_band": "45 to 64", "sex": "Female"}
        for k, v in row.items():
            ws.cell(row=r, column=head.index(k) + 1, value=v)
    wb.save(folder / "paper.xlsx")
    merged = merge_responses_for(folder, q)
    sheet = coding_sheet(merged.responses, q)
    first = sheet.assign(codes=["parking" if "No parking at all" == t else "parking;friendly" for t in sheet["text"]],
                         coder="A")
    second = first.assign(coder="B")
    pd.concat([first, second]).to_csv(folder / "coded_sheet.csv", index=False)
    d = voices_data(str(tmp_path), "XQC", Rule(threshold=5))
    assert d["questionnaire"].id == "eye_clinic" and list(d["frame"]["code"]) == ["parking", "friendly"]
    themes = d["tables"]["themes"].data.set_index("code")
    assert themes.loc["parking", "raised"] == 8 and d["tables"]["reach"].data.set_index("group").loc[
        "Female 16-64", "respondents"] == 8
    assert agreement(d["coded"], d["frame"]).iloc[-1]["kappa"] == 1.0
    qs = quotes(d["coded"], d["sheet"], d["frame"], threshold=5)
    assert set(qs["quote"]) == {"No parking at all", "Friendly staff, no parking"}   # each text quoted once
    assert set(qs["code"]) <= {"parking", "friendly"}


def merge_responses_for(folder, q):
    from qi_equity.psychology.responses import Source, merge_responses

    return merge_responses([Source(folder / "paper.xlsx")], q)
