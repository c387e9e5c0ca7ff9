"""Theory of knowledge: predictions tested in PDSA cycles, read against SPC.

IHI's lens asks what the issue is, why, and what theories and predictions we have. Here: a
PDSA log (cycle, change idea, dates, prediction, what happened, adopt / adapt / abandon)
validated against its contract, SPC charts annotated with the cycles, and a
prediction-against-outcome table; and the action log, which ties each finding to what is being
done about it.
"""

from qi_equity.knowledge.actions import (ACTION_COLUMNS, actions_by_finding, actions_without_findings, load_actions,
                                         status_summary, validate_actions)
from qi_equity.knowledge.pdsa import (PDSA_COLUMNS, cycle_after_which_special_cause, load_pdsa, pdsa_spc,
                                      prediction_table, validate_pdsa)

__all__ = ["PDSA_COLUMNS", "load_pdsa", "validate_pdsa", "pdsa_spc", "cycle_after_which_special_cause",
           "prediction_table", "ACTION_COLUMNS", "load_actions", "validate_actions", "actions_by_finding",
           "actions_without_findings", "status_summary"]
