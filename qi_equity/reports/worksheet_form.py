"""An ipywidgets form for a lens worksheet (``notebooks/lens_*``): a box per question, the team's
name and the date, and a button that validates the answers and adds them to ``worksheets.csv``.

Nothing is written unless every answer passes the worksheet's rules
(:func:`qi_equity.assessment.worksheets.append_answers`); the message under the button says what
was saved or which rule failed. On Binder the saved file can be downloaded from the file browser
(it is lost when the session ends).
"""

from __future__ import annotations

import datetime
import html

import pandas as pd


def worksheet_rows(lens: str, provider_code: str, team: str, answered_on: str, answers: dict,
                   scores: dict | None = None) -> pd.DataFrame:
    """The rows a filled-in form adds: one per answered question (blank answers are left out)."""
    from qi_equity.assessment.worksheets import WORKSHEET_COLUMNS

    scores = scores or {}
    rows = [{"provider_code": provider_code, "team": team, "answered_on": answered_on, "lens": lens, "code": code,
             "answer": text.strip(), "score": "" if scores.get(code) in (None, "") else str(scores[code])}
            for code, text in answers.items() if str(text).strip()]
    return pd.DataFrame(rows, columns=WORKSHEET_COLUMNS)


def worksheet_form(lens: str, provider_code: str, path: str, team: str = ""):
    """Display the form for one lens; returns the widget (or None when ipywidgets has no front end)."""
    import ipywidgets as W
    from IPython.display import display

    from qi_equity.assessment.selfassessment import SCALE
    from qi_equity.assessment.worksheets import append_answers, templates
    from qi_equity.data.validation import ContractError

    t = templates()[lens]
    team_box = W.Text(value=team, description="Team", style={"description_width": "initial"},
                      layout=W.Layout(width="auto", min_width="20em"))
    date_box = W.Text(value=datetime.date.today().isoformat(), description="Date (YYYY-MM-DD)",
                      style={"description_width": "initial"})
    boxes, scores, parts = {}, {}, []
    for q in t["questions"].itertuples():
        boxes[q.code] = W.Textarea(placeholder="the team's answer, in its own words",
                                   layout=W.Layout(width="100%", height="4em"))
        parts.append(W.HTML(f"<b>{html.escape(q.code)} {html.escape(str(q.topic))}</b>: {html.escape(q.question)}"))
        parts.append(boxes[q.code])
        if t["scored"]:
            scores[q.code] = W.Dropdown(options=[("(no score)", "")] + [(f"{k} {v}", k) for k, v in SCALE.items()],
                                        description="Score", value="")
            parts.append(scores[q.code])
    message = W.HTML()
    button = W.Button(description="Save answers", button_style="primary")

    def save(_):
        rows = worksheet_rows(lens, provider_code, team_box.value.strip(), date_box.value.strip(),
                              {c: b.value for c, b in boxes.items()}, {c: s.value for c, s in scores.items()})
        if rows.empty:
            message.value = "Nothing to save: no question has an answer yet."
            return
        try:
            append_answers(path, rows)
        except ContractError as exc:
            message.value = "<pre>" + html.escape(exc.report.format()) + "</pre>Nothing was saved."
            return
        message.value = html.escape(f"Saved {len(rows)} answer(s) to {path}.")

    button.on_click(save)
    ui = W.VBox([W.HTML(f"<h3>{html.escape(t['title'])} worksheet: {html.escape(provider_code)}</h3>"),
                 W.HBox([team_box, date_box], layout=W.Layout(flex_flow="row wrap")), *parts, button, message])
    display(ui)
    return ui
