"""Lens worksheets (qi_equity.assessment.worksheets) and their form (qi_equity.reports.worksheet_form)."""

import pandas as pd
import pytest

from qi_equity.assessment.worksheets import (WORKSHEET_COLUMNS, append_answers, blank_worksheet, compare_answers,
                                             latest_answers, load_worksheets, templates, validate_worksheets)
from qi_equity.data.validation import ContractError
from qi_equity.reports.worksheet_form import worksheet_form, worksheet_rows


def _a(p="XQB", team="Steering group", on="2026-01-20", lens="system", code="S1", answer="words", score=""):
    return {"provider_code": p, "team": team, "answered_on": on, "lens": lens, "code": code, "answer": answer,
            "score": score}


def _frame(rows):
    return pd.DataFrame(rows, columns=WORKSHEET_COLUMNS).replace("", pd.NA)


def test_templates_cover_the_four_lenses_and_intentional_equity_in_three_stages():
    t = templates()
    assert list(t) == ["system", "psychology", "knowledge", "variation", "intentional_equity"]
    assert t["system"]["questions"]["topic"].tolist() == ["People", "Culture", "Structures", "Key processes"]
    assert t["psychology"]["questions"]["topic"].tolist() == ["Response to change", "Readiness", "Feelings"]
    assert t["knowledge"]["questions"]["topic"].tolist() == ["The issue", "Why", "Theories", "Predictions"]
    ie = t["intentional_equity"]
    assert ie["scored"] and set(ie["questions"]["topic"]) == {"Framing and orientation", "Project design",
                                                              "Project operations"}
    assert len(blank_worksheet("knowledge", "XQC", "Team A")) == 4


@pytest.mark.parametrize("row,column,rule", [
    (_a(lens="culture"), "lens", "must be one of"),
    (_a(code="K1"), "code", "must be a question of its lens"),
    (_a(answer=""), "answer", "must not be empty"),
    (_a(on="20/01/2026"), "answered_on", "must be a date YYYY-MM-DD"),
    (_a(score="2"), "score", "is only for the intentional-equity questions"),
    (_a(lens="intentional_equity", code="D2", score="5"), "score", "must be a whole number 0-4"),
])
def test_each_rule_names_its_column(row, column, rule):
    rep = validate_worksheets(_frame([_a(code="S2"), row]))
    assert [(f.column, f.failing_rows) for f in rep.failures if f.rule.startswith(rule)] == [(column, 1)], rep.format()


def test_latest_answers_with_the_score_before_and_the_collaborative_view():
    df = _frame([_a(lens="intentional_equity", code="D2", on="2025-06-30", answer="the elective team", score="1"),
                 _a(lens="intentional_equity", code="D2", answer="with the forum", score="3"),
                 _a(lens="intentional_equity", code="F1", answer="we asked", score="2"),
                 _a(p="XQC", team="Board", lens="intentional_equity", code="D2", answer="the board", score="2")])
    df["answered_on"] = pd.to_datetime(df["answered_on"])
    df["score"] = pd.to_numeric(df["score"]).astype("Int64")
    a = latest_answers(df, "intentional_equity")
    assert a[["provider_code", "code", "answer", "score"]].astype(object).values.tolist() == [
        ["XQB", "F1", "we asked", 2], ["XQB", "D2", "with the forum", 3], ["XQC", "D2", "the board", 2]]
    assert a["previous_score"].astype(object).where(a["previous_score"].notna(), None).tolist() == [None, 1, None]
    c = compare_answers(df, "intentional_equity").set_index("code")
    assert c.loc["D2", "XQB"] == "Steering group: with the forum" and c.loc["D2", "XQC"] == "Board: the board"
    assert c.loc["O1", "XQB"] == ""


def test_appending_checks_the_whole_file_and_writes_nothing_on_a_bad_answer(tmp_path):
    path = tmp_path / "worksheets.csv"
    append_answers(path, pd.DataFrame([_a()]))
    before = path.read_bytes()
    with pytest.raises(ContractError):
        append_answers(path, pd.DataFrame([_a()]))  # the same answer twice for one team and date
    assert path.read_bytes() == before
    append_answers(path, pd.DataFrame([_a(code="S2")]))
    assert load_worksheets(path)["code"].tolist() == ["S1", "S2"]


def test_the_form_saves_what_passes_and_says_why_not(tmp_path):
    path = tmp_path / "w.csv"
    rows = worksheet_rows("intentional_equity", "XQB", "Team", "2026-01-20", {"D2": " the forum ", "F1": ""},
                          {"D2": 3})
    assert rows[["code", "answer", "score"]].values.tolist() == [["D2", "the forum", "3"]]  # blanks left out
    ui = worksheet_form("system", "XQB", str(path), team="Steering group")
    boxes = [w for w in ui.children if type(w).__name__ == "Textarea"]
    button = [w for w in ui.children if type(w).__name__ == "Button"][0]
    message = ui.children[-1]
    assert len(boxes) == 4
    boxes[0].value = "Women who never reach a referral"
    ui.children[1].children[1].value = "not a date"
    button.click()
    assert "answered_on: must be a date" in message.value and "Nothing was saved" in message.value
    assert not path.exists()
    ui.children[1].children[1].value = "2026-01-20"
    button.click()
    assert "Saved 1 answer" in message.value and load_worksheets(path)["answer"].tolist() == [
        "Women who never reach a referral"]
