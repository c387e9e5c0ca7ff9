"""Report blocks for the action log (qi_equity.reports.actions)."""

import pandas as pd

from qi_equity.reports.actions import action_line_html, actions_section_html, cluster_actions, provider_actions

ACTS = pd.DataFrame([{"action_id": "XQC-A1", "provider_code": "XQC", "finding_ids": ["XQC-e25c86b0"],
                      "action": "Review <b>long</b> waiters", "owner_role": "Head of access",
                      "start_date": pd.Timestamp("2025-09-01"), "due_date": pd.Timestamp("2026-03-31"),
                      "status": "in progress", "change_idea": "Equity check", "pdsa_cycles": [2], "measure": None,
                      "group": None},
                     {"action_id": "XQC-A9", "provider_code": "XQC", "finding_ids": ["XQC-99999999"],
                      "action": "Old action", "owner_role": "Manager", "start_date": pd.Timestamp("2024-01-01"),
                      "due_date": pd.NaT, "status": "done", "change_idea": None, "pdsa_cycles": [], "measure": None,
                      "group": None}])
FINDINGS = pd.DataFrame({"finding_id": ["XQC-e25c86b0", "XQC-35d107fc", "XQC-1dff00d5"],
                         "kind": ["group_changing", "group_changing", "gap_now"],
                         "dimension": ["imd_quintile", "sex", "imd_quintile"],
                         "group": ["Q1 most deprived", "Female", "Q1 most deprived"],
                         "headline": [True, True, False], "also": ["", "", ""],
                         "sentence": ["Waits rose for Core20.", "DNA rose for women.", "A gap."]})


def test_a_finding_shows_its_actions_escaped():
    line = action_line_html("XQC-e25c86b0", cluster_actions(ACTS, ["XQC-e25c86b0"]))
    assert "XQC-A1" in line and "Review &lt;b&gt;long&lt;/b&gt; waiters" in line and "<b>long" not in line
    assert "in progress" in line and "owner: Head of access" in line and "due 31 Mar 2026" in line
    assert "finding XQC-e25c86b0" in line


def test_a_finding_without_an_action_says_so():
    line = action_line_html("XQC-35d107fc", cluster_actions(ACTS, ["XQC-35d107fc"]))
    assert "No action recorded" in line and "XQC-35d107fc" in line


def test_a_cluster_counts_actions_on_its_related_findings():
    assert cluster_actions(ACTS, ["XQC-35d107fc", "XQC-e25c86b0"])["action_id"].tolist() == ["XQC-A1"]


def test_the_section_lists_actions_bare_findings_and_actions_whose_finding_is_gone():
    h = actions_section_html(ACTS, FINDINGS)
    assert "Actions recorded against the findings" in h
    assert "Group changing: People in the most deprived fifth of areas (Core20) (XQC-e25c86b0)" in h
    bare = h.split("Findings with no action recorded")[1]
    assert "DNA rose for women." in bare and "Waits rose for Core20." not in bare and "A gap." not in bare
    assert "XQC-A9 (XQC-99999999, done)" in h


def test_no_log_means_an_empty_log(tmp_path):
    a = provider_actions(str(tmp_path), "XQC")
    assert a.empty and "action_id" in a.columns
    assert "No action is recorded for this provider yet" in actions_section_html(a, FINDINGS)
