"""The online questionnaire: an ipywidgets form built from a questionnaire
(:mod:`qi_equity.psychology.questionnaire`), for JupyterLab and Binder
(``notebooks/engagement_toolkit.ipynb``).

One widget per question (one choice: radio buttons with "no answer"; tick all that apply: a tick
box per answer; a number or free text: a box), the consent box and the respondent reference. The
button checks the answers with everything already in the responses file
(:func:`qi_equity.psychology.responses.append_response`) and adds them only if every rule holds;
the message under it says what was saved or which rule failed, and gives a link to download the
file (on Binder the file is lost when the session ends: download it).
"""

from __future__ import annotations

import datetime
import html
from pathlib import Path

NO_ANSWER = "(no answer)"


def _widget(x):
    import ipywidgets as W

    full = W.Layout(width="100%")
    if x.type in ("single", "likert"):
        return W.RadioButtons(options=[(NO_ANSWER, "")] + [(lab, c) for c, lab in x.options], value="",
                              layout=full)
    if x.type == "multiple":
        return W.VBox([W.Checkbox(description=lab, value=False, indent=False) for _, lab in x.options])
    if x.type == "number":
        return W.Text(placeholder="a number" + (f" from {x.min:g} to {x.max:g}" if x.min is not None and x.max is not None
                                                 else ""))
    return W.Textarea(placeholder="in your own words", layout=W.Layout(width="100%", height="5em"))


def _value(x, w):
    if x.type == "multiple":
        return [c for (c, _), box in zip(x.options, w.children) if box.value]
    return w.value


def questionnaire_form(q, path: str, channel: str = "online"):
    """Display the form; returns the widget. ``path``: the responses file (CSV) it adds to."""
    import ipywidgets as W
    from IPython.display import display

    from qi_equity.data.validation import ContractError
    from qi_equity.psychology.responses import append_response, response_row

    ref = W.Text(description="Reference (if you have one)", style={"description_width": "initial"})
    consent = W.Checkbox(description=q.consent_question, value=False, indent=False, layout=W.Layout(width="100%"))
    widgets, parts = {}, [W.HTML(f"<h3>{html.escape(q.title)}</h3><p>{html.escape(q.intro)}</p>"),
                          W.HTML(f"<p>{html.escape(q.consent_text)}</p>"), consent, ref]
    for i, x in enumerate(q.questions, 1):
        if x.section == "demographics" and i == len(q.main) + 1:
            parts.append(W.HTML("<h4>About you (you can leave any of these blank)</h4>"))
        widgets[x.id] = _widget(x)
        parts += [W.HTML(f"<b>{i}. {html.escape(x.text)}</b>"), widgets[x.id]]
    message = W.HTML()
    button = W.Button(description="Send my answers", button_style="primary")

    def save(_):
        row = response_row(q, {qid: _value(q.question(qid), w) for qid, w in widgets.items()}, ref.value.strip(),
                           consent.value, channel, datetime.date.today().isoformat())
        try:
            n = append_response(path, row, q)
        except ContractError as exc:
            message.value = "<pre>" + html.escape(exc.report.format()) + "</pre>Nothing was saved."
            return
        name = Path(path).name
        message.value = (f"Thank you: saved ({n} response(s) in {html.escape(name)}). "
                         f'<a href="{html.escape(name, quote=True)}" download>Download the file</a>.')

    button.on_click(save)
    ui = W.VBox(parts + [button, message])
    display(ui)
    return ui


__all__ = ["questionnaire_form"]
