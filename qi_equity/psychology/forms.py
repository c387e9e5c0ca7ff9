"""Offline engagement tools from a questionnaire (:mod:`qi_equity.psychology.questionnaire`).

:func:`write_forms` writes, for one questionnaire, everything a frontline team needs to collect
answers on paper and type them in:

- ``paper_form.html`` and ``paper_form_large_print.html``: the questionnaire to print on A4, with
  tick boxes, writing lines and a box for the respondent reference (staff fill it in, so a person
  who answers twice, on paper and online, counts once when the sources are merged);
- ``tally_sheet.html``: for community events, where staff ask the closed questions and keep a
  tally per answer (one sheet per event);
- ``data_entry.xlsx``: a workbook to type paper answers into. Its ``Responses`` sheet has one
  column per question (one per option of a tick-all-that-apply question), and every column is
  validated as it is typed: answer lists from drop-downs, numbers within their range, text
  within its length, dates as dates. A ``Questions`` sheet lists every question and a hidden
  ``Lists`` sheet holds the drop-down lists;
- ``data_entry.csv`` (the same columns, for teams without a spreadsheet program) and ``codes.csv``
  (every question's codes and labels; either may be typed).

The pages are self-contained (no scripts, fonts or images from elsewhere) and every text from the
questionnaire is escaped, so a questionnaire cannot put markup into a printed form.

References
----------
.. [1] RNIB. *Clear print guidelines* (at least 12 point; large print 16-18 point, left aligned,
       good contrast, no text over images).
.. [2] Mencap (2009). *Am I making myself clear?* (easy read: one idea a sentence, large type).
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

from qi_equity.psychology.questionnaire import Question, Questionnaire

CHANNELS = ("offline", "event", "online")
ENTRY_ROWS = 1000  # rows of the workbook carrying the validations
FIXED_COLUMNS = [("respondent_ref", "Respondent reference (from the box on the form)"),
                 ("channel", "How the answers came: offline (paper), event (tally or in person), online"),
                 ("response_date", "Date of the response (YYYY-MM-DD)"),
                 ("consent", "Ticked the consent box: Yes / No (No: the answers are not used)")]
TICKED = "Yes"

_CSS = """
@page { size: A4; margin: 14mm 15mm; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; font-size: %(size)spt; line-height: 1.35; color: #000;
       background: #fff; margin: 0 auto; max-width: 180mm; }
h1 { font-size: 1.45em; margin: 0 0 0.3em; }
h2 { font-size: 1.15em; margin: 1.1em 0 0.4em; border-bottom: 1px solid #000; }
.intro, .help { margin: 0 0 0.6em; }
.help { font-size: 0.9em; }
.ref { float: right; border: 1px solid #000; padding: 2mm 3mm; font-size: 0.85em; margin-left: 4mm; }
.ref span { display: inline-block; width: 32mm; border-bottom: 1px solid #000; }
.consent { border: 2px solid #000; padding: 3mm 4mm; margin: 4mm 0; break-inside: avoid; }
ol { padding-left: 1.4em; margin: 0; }
li.q { margin: 0 0 %(gap)smm; break-inside: avoid; page-break-inside: avoid; }
.qtext { font-weight: bold; margin-bottom: 1.5mm; }
ul.opts { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 1.5mm 7mm; }
ul.opts li { display: flex; align-items: center; gap: 2mm; }
.box { display: inline-block; width: %(box)smm; height: %(box)smm; border: 1.5px solid #000; flex: none; }
.line { border-bottom: 1px solid #000; height: %(line)smm; }
.number { display: inline-block; width: 30mm; height: %(line)smm; border: 1px solid #000; vertical-align: middle; }
footer { margin-top: 6mm; font-size: 0.9em; }
table.tally { width: 100%%; border-collapse: collapse; margin: 0 0 5mm; break-inside: avoid; }
table.tally th, table.tally td { border: 1px solid #000; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
table.tally td.marks { height: 11mm; width: 62%%; }
table.tally td.total { width: 14%%; }
table.event th { width: 20%%; }
table.event td { width: 30%%; height: 9mm; }
table.tally td.marks, table.tally td.total { height: 9mm; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str, large: bool = False) -> str:
    size = 17 if large else 12
    css = _CSS % {"size": size, "gap": 7 if large else 5, "box": 7 if large else 4.5, "line": 11 if large else 8}
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_e(title)}</title>\n'
            f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _answer_html(q: Question, large: bool) -> str:
    if q.type in ("single", "multiple", "likert"):
        how = "Tick one" if q.type != "multiple" else "Tick all that apply"
        items = "".join(f'<li><span class="box" aria-hidden="true"></span>{_e(lab)}</li>' for lab in q.labels)
        return f'<ul class="opts" aria-label="{_e(how)}">{items}</ul>'
    if q.type == "number":
        rng = ""
        if q.min is not None and q.max is not None:
            rng = f" ({q.min:g} to {q.max:g})"
        return f'<span class="number" aria-hidden="true"></span>{_e(rng)}'
    lines = max(2, min(6, q.max_length // 200)) + (1 if large else 0)
    return "".join('<div class="line" aria-hidden="true"></div>' for _ in range(lines))


def paper_form_html(q: Questionnaire, large_print: bool = False) -> str:
    """The printable A4 form (see the module docstring); ``large_print``: 17 pt type and bigger
    boxes (easy-read questionnaires always print large)."""
    large = large_print or q.easy_read
    parts = [f'<div class="ref">Reference (staff use): <span></span></div>', f"<h1>{_e(q.title)}</h1>"]
    if q.intro:
        parts.append(f'<p class="intro">{_e(q.intro)}</p>')
    parts.append(f'<div class="consent"><p>{_e(q.consent_text)}</p><p><span class="box" aria-hidden="true"></span> '
                 f"<strong>{_e(q.consent_question)}</strong></p></div>")

    def block(questions, start):
        items = []
        for i, x in enumerate(questions, start):
            help_ = f'<p class="help">{_e(x.help)}</p>' if x.help else ""
            items.append(f'<li class="q" value="{i}"><div class="qtext">{_e(x.text)}</div>{help_}'
                         f"{_answer_html(x, large)}</li>")
        return "<ol>" + "".join(items) + "</ol>"

    parts.append(block(q.main, 1))
    if q.demographics:
        parts.append("<h2>About you</h2>")
        parts.append('<p class="help">These questions help us see whether we hear from everyone. You can leave any '
                     "of them blank.</p>")
        parts.append(block(q.demographics, len(q.main) + 1))
    parts.append("<footer>Thank you. Please hand this form back to a member of staff or put it in the box.</footer>")
    return _page(q.title, "\n".join(parts), large)


def tally_sheet_html(q: Questionnaire) -> str:
    """A tally sheet for one community event: the closed questions, a row per answer with room
    for tally marks and a total, and the event's details."""
    parts = [f"<h1>{_e(q.title)}: tally sheet</h1>",
             '<p class="intro">One sheet per event. Ask each person the questions below and make one mark per '
             "answer. Write the totals at the end, then type them into the workbook as one row per person or as "
             "the event's counts.</p>",
             '<table class="tally event"><tr><th>Event and place</th><td></td><th>Date</th><td></td></tr>'
             "<tr><th>Staff (role)</th><td></td><th>People spoken to</th><td></td></tr></table>"]
    closed = [x for x in q.questions if x.type in ("single", "multiple", "likert")]
    for i, x in enumerate(closed, 1):
        rows = "".join(f'<tr><td>{_e(lab)}</td><td class="marks"></td><td class="total"></td></tr>' for lab in x.labels)
        parts.append(f'<table class="tally"><caption class="qtext" style="text-align:left">{i}. {_e(x.text)}</caption>'
                     f"<tr><th>Answer</th><th>Tally</th><th>Total</th></tr>{rows}</table>")
    return _page(f"{q.title}: tally sheet", "\n".join(parts))


def entry_columns(q: Questionnaire) -> list[tuple[str, Question | None, str | None]]:
    """The data-entry columns in order: ``(column name, question, option code)``; a
    tick-all-that-apply question has one column per option (``<id>:<code>``)."""
    cols: list[tuple[str, Question | None, str | None]] = [(c, None, None) for c, _ in FIXED_COLUMNS]
    for x in q.questions:
        if x.type == "multiple":
            cols += [(f"{x.id}:{code}", x, code) for code in x.codes]
        else:
            cols.append((x.id, x, None))
    return cols


def codes_table(q: Questionnaire) -> list[dict]:
    """Every answer code of every choice question: ``question_id, code, label``."""
    return [{"question_id": x.id, "code": c, "label": lab} for x in q.questions for c, lab in x.options]


def data_entry_workbook(q: Questionnaire, path: str | Path):
    """Write the data-entry workbook (see the module docstring) with openpyxl."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Responses"
    lists = wb.create_sheet("Lists")
    qs = wb.create_sheet("Questions")
    qs.append(["column", "question", "type", "answers"])
    lists_col = 0

    def add_list(name: str, values: list[str]) -> str:
        nonlocal lists_col
        lists_col += 1
        letter = get_column_letter(lists_col)
        lists.cell(row=1, column=lists_col, value=name)
        for r, v in enumerate(values, 2):
            lists.cell(row=r, column=lists_col, value=v)
        return f"=Lists!${letter}$2:${letter}${len(values) + 1}"

    def validate(dv: DataValidation, col: int, title: str, message: str):
        dv.error, dv.errorTitle, dv.prompt, dv.promptTitle = message, title[:32], message, title[:32]
        dv.showErrorMessage = dv.showInputMessage = True
        letter = get_column_letter(col)
        dv.add(f"{letter}2:{letter}{ENTRY_ROWS + 1}")
        ws.add_data_validation(dv)

    yes = add_list("ticked", [TICKED])
    for col, (name, x, code) in enumerate(entry_columns(q), 1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col)].width = 18 if x is None or x.type != "text" else 40
        about = dict(FIXED_COLUMNS).get(name) if x is None else x.text
        cell.comment = Comment(about, "qi-equity")
        if name == "channel":
            validate(DataValidation(type="list", formula1=add_list("channel", list(CHANNELS)), allow_blank=False),
                     col, "Channel", "Choose offline, event or online.")
        elif name == "consent":
            validate(DataValidation(type="list", formula1=add_list("consent", ["Yes", "No"]), allow_blank=False),
                     col, "Consent", "Yes if the consent box was ticked, No if not.")
        elif name == "response_date":
            validate(DataValidation(type="date", operator="greaterThan", formula1="DATE(2000,1,1)", allow_blank=True),
                     col, "Date", "A date (YYYY-MM-DD).")
            for r in range(2, ENTRY_ROWS + 2):
                ws.cell(row=r, column=col).number_format = "yyyy-mm-dd"
        elif name == "respondent_ref":
            validate(DataValidation(type="textLength", operator="between", formula1="1", formula2="40",
                                    allow_blank=True), col, "Reference", "The reference written on the form (1-40 characters).")
        elif x.type == "multiple":
            label = dict(x.options)[code]
            validate(DataValidation(type="list", formula1=yes, allow_blank=True), col, label,
                     f"'{TICKED}' if '{label}' was ticked; leave empty if not.")
        elif x.type in ("single", "likert"):
            validate(DataValidation(type="list", formula1=add_list(x.id, x.labels), allow_blank=True), col, x.id,
                     "Choose the answer ticked on the form; leave empty if none.")
        elif x.type == "number":
            lo = x.min if x.min is not None else -1e9
            hi = x.max if x.max is not None else 1e9
            validate(DataValidation(type="decimal", operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}",
                                    allow_blank=True), col, x.id, f"A number from {lo:g} to {hi:g}.")
        else:
            validate(DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(x.max_length),
                                    allow_blank=True), col, x.id, f"At most {x.max_length} characters.")
        answers = "" if x is None or x.type in ("number", "text") else \
            (TICKED if x.type == "multiple" else " / ".join(x.labels))
        qs.append([name, about, "" if x is None else x.type, answers])
    ws.freeze_panes = "A2"
    lists.sheet_state = "hidden"
    qs.column_dimensions["B"].width = 80
    wb.save(path)


def write_forms(q: Questionnaire, out_dir: str | Path) -> dict[str, Path]:
    """Write every offline tool for ``q`` into ``out_dir`` (created if needed); returns the paths
    by name (``paper_form``, ``paper_form_large_print``, ``tally_sheet``, ``workbook``, ``csv``,
    ``codes``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"paper_form": out / "paper_form.html", "paper_form_large_print": out / "paper_form_large_print.html",
             "tally_sheet": out / "tally_sheet.html", "workbook": out / "data_entry.xlsx",
             "csv": out / "data_entry.csv", "codes": out / "codes.csv"}
    paths["paper_form"].write_text(paper_form_html(q), encoding="utf-8")
    paths["paper_form_large_print"].write_text(paper_form_html(q, large_print=True), encoding="utf-8")
    paths["tally_sheet"].write_text(tally_sheet_html(q), encoding="utf-8")
    data_entry_workbook(q, paths["workbook"])
    with open(paths["csv"], "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerow([c for c, _, _ in entry_columns(q)])
    with open(paths["codes"], "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["question_id", "code", "label"], lineterminator="\n")
        w.writeheader()
        w.writerows(codes_table(q))
    return paths


__all__ = ["write_forms", "paper_form_html", "tally_sheet_html", "data_entry_workbook", "entry_columns",
           "codes_table", "CHANNELS"]
