"""The action log (qi_equity.knowledge.actions): contract, loading, findings with their actions."""

import pandas as pd
import pytest

from qi_equity.data.validation import ContractError
from qi_equity.knowledge.actions import (ACTION_COLUMNS, NO_ACTION, actions_by_finding, actions_without_findings,
                                         load_actions, split_list, status_summary, validate_actions)

GOOD = {"action_id": "XQC-A1", "provider_code": "XQC", "finding_ids": "XQC-e25c86b0; XQC-1dff00d5",
        "action": "Review long waiters weekly", "owner_role": "Head of access", "start_date": "2025-09-01",
        "due_date": "2026-03-31", "status": "in progress", "change_idea": "Equity check", "pdsa_cycles": "1;3",
        "measure": "completed_over_18", "group": "Q1 most deprived"}


def _log(tmp_path, rows, drop=()):
    df = pd.DataFrame(rows)[[c for c in ACTION_COLUMNS if c not in drop]]
    p = tmp_path / "action_log.csv"
    df.to_csv(p, index=False)
    return p


def test_a_good_log_loads_with_lists_and_dates(tmp_path):
    a = load_actions(_log(tmp_path, [GOOD, dict(GOOD, action_id="XQC-A2", due_date="", pdsa_cycles="")]))
    assert list(a.columns) == ACTION_COLUMNS and len(a) == 2
    assert a.loc[0, "finding_ids"] == ["XQC-e25c86b0", "XQC-1dff00d5"] and a.loc[0, "pdsa_cycles"] == [1, 3]
    assert a.loc[0, "start_date"] == pd.Timestamp("2025-09-01") and pd.isna(a.loc[1, "due_date"])
    assert a.loc[1, "pdsa_cycles"] == []


@pytest.mark.parametrize("change,column,rule", [
    (dict(finding_ids="the gap for women"), "finding_ids", "each must be a finding id"),
    (dict(finding_ids="XQA-e25c86b0"), "finding_ids", "must be findings of the row's own provider"),
    (dict(status="ongoing"), "status", "must be one of planned / in progress / done / stopped"),
    (dict(due_date="2025-01-01"), "due_date", "must not be before start_date"),
    (dict(start_date="01/09/2025"), "start_date", "must be a date YYYY-MM-DD"),
    (dict(pdsa_cycles="1;two"), "pdsa_cycles", "must be whole numbers >= 1"),
    (dict(measure="waits"), "measure", "must be one of"),
    (dict(owner_role=""), "owner_role", "must not be empty"),
])
def test_each_rule_names_its_column_and_rows(tmp_path, change, column, rule):
    path = _log(tmp_path, [GOOD, dict(GOOD, action_id="XQC-A2", **change)])
    with pytest.raises(ContractError) as e:
        load_actions(path)
    text = e.value.report.format()
    assert str(path) in text and f"{column}: {rule}" in text and "1 of 2 rows" in text, text


def test_duplicate_ids_and_missing_columns(tmp_path):
    rep = validate_actions(pd.DataFrame([GOOD, GOOD]))
    assert [(f.column, f.failing_rows) for f in rep.failures] == [("action_id", 2)]
    rep = validate_actions(pd.DataFrame([GOOD]).drop(columns=["status"]))
    assert [(f.column, f.rule) for f in rep.failures] == [("status", "required column is missing")]


def test_findings_with_their_actions_or_none():
    a = pd.DataFrame([dict(GOOD, finding_ids=["XQC-e25c86b0", "XQC-1dff00d5"], pdsa_cycles=[1],
                           start_date=pd.Timestamp("2025-09-01"), due_date=pd.Timestamp("2026-03-31")),
                      dict(GOOD, action_id="XQC-A2", finding_ids=["XQC-e25c86b0"], pdsa_cycles=[],
                           start_date=pd.Timestamp("2025-10-01"), due_date=pd.NaT, status="planned")])
    f = pd.DataFrame({"finding_id": ["XQC-e25c86b0", "XQC-1dff00d5", "XQC-00000000"]})
    out = actions_by_finding(f, a)
    assert out[["finding_id", "action_id", "status"]].astype(object).where(out.notna(), None).values.tolist() == [
        ["XQC-e25c86b0", "XQC-A1", "in progress"], ["XQC-e25c86b0", "XQC-A2", "planned"],
        ["XQC-1dff00d5", "XQC-A1", "in progress"], ["XQC-00000000", None, NO_ACTION]]
    gone = actions_without_findings(f.iloc[1:], a)
    assert gone.values.tolist() == [["XQC-A1", "XQC-e25c86b0", "in progress"], ["XQC-A2", "XQC-e25c86b0", "planned"]]


def test_status_summary_counts_and_overdue_at_a_date():
    a = pd.DataFrame({"provider_code": ["XQA", "XQA", "XQB", "XQB"],
                      "status": ["in progress", "done", "planned", "stopped"],
                      "due_date": pd.to_datetime(["2026-01-31", "2025-12-31", "2026-06-30", "2025-01-01"])})
    s = status_summary(a, "2026-03-31").set_index("provider_code")
    assert s.loc["XQA", ["planned", "in progress", "done", "stopped", "overdue"]].tolist() == [0, 1, 1, 0, 1]
    assert s.loc["XQB", "overdue"] == 0  # stopped and not yet due are not overdue
    assert status_summary(a, "2026-07-31").set_index("provider_code").loc["XQB", "overdue"] == 1


def test_split_list():
    assert split_list(" a; b;;") == ["a", "b"] and split_list(None) == [] and split_list(float("nan")) == []
