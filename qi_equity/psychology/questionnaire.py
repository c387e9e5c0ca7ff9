"""A questionnaire defined once (YAML): the source of the paper form, the tally sheet, the data-entry
workbook and the online form, so every channel asks the same questions with the same codes.

A questionnaire file holds:

- ``id`` (letters, digits, ``_``), ``title``, ``intro`` (optional), ``easy_read`` (optional, true
  for an easy-read version: larger type on paper);
- ``consent``: ``text`` (what happens to the answers) and ``question`` (the box a person ticks);
- ``questions``: a list, each with ``id`` (unique, letters, digits, ``_``), ``type`` and ``text``
  (optional: ``help``, ``required``):

  =============  ==========================================================================
  ``single``     one of ``options`` (each ``{code, label}``; at least two, codes unique)
  ``multiple``   any of ``options``
  ``likert``     one point of a scale: ``scale`` (``agree5``, ``easy3``) or its own ``options``
  ``number``     a number, optionally between ``min`` and ``max``
  ``text``       free text, at most ``max_length`` characters (default 2,000)
  =============  ==========================================================================

  A question may say ``coding_frame: barriers``: its option codes are then themes of the kit's
  barrier taxonomy (:func:`qi_equity.psychology.barrier_taxonomy`), apart from ``none`` and
  ``other``, so answers count where coded free text counts;
- ``demographics``: names of the kit's demographic questions (``demographics.yaml``: age band,
  sex, ethnic category in NHS codes with plain labels, disability, caring, working pattern,
  preferred contact times and channels; their codes are the kit's equity groups where there is
  one), or questions written out as above.

:func:`load_questionnaire` checks every rule and raises :class:`QuestionnaireError`, which lists
each problem with the file, the question (number and id), the key and the rule. The kit's
default, "Getting to your hospital appointments" (``questionnaire_barriers.yaml``), and its
easy-read version (``questionnaire_barriers_easy_read.yaml``) were written for the kit.

References
----------
.. [1] NHS Data Dictionary: Ethnic Category (the 2001 census categories, codes A-Z).
.. [2] Mencap (2000, rev. 2009). *Am I making myself clear? Mencap's guidelines for accessible
       writing* (easy read: short sentences, one idea each, everyday words).
.. [3] NHS England (2023). *Working in partnership with people and communities* (hear from people
       through more than one channel; say how their views are used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).parent
DEFAULT = HERE / "questionnaire_barriers.yaml"
EASY_READ = HERE / "questionnaire_barriers_easy_read.yaml"
BUILT_IN = {"default": DEFAULT, "barriers": DEFAULT, "easy_read": EASY_READ, "barriers_easy_read": EASY_READ}
TYPES = ("single", "multiple", "likert", "number", "text")
CHOICE_TYPES = ("single", "multiple", "likert")
SCALES = {
    "agree5": [("strongly_agree", "Strongly agree"), ("agree", "Agree"), ("neither", "Neither agree nor disagree"),
               ("disagree", "Disagree"), ("strongly_disagree", "Strongly disagree")],
    "easy3": [("yes", "Yes"), ("not_sure", "Not sure"), ("no", "No")],
}
FRAME_EXTRA = ("none", "other")
QUESTION_KEYS = ("id", "type", "text", "options", "scale", "help", "required", "min", "max", "max_length",
                 "coding_frame", "dimension")
DEFAULT_MAX_LENGTH = 2000
_SLUG = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+\-]{0,39}$")


class QuestionnaireError(ValueError):
    """A questionnaire file that breaks its rules; ``problems`` lists them, one line each."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"questionnaire {source}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class Question:
    id: str
    type: str
    text: str
    options: list[tuple[str, str]] = field(default_factory=list)  # (code, label)
    help: str = ""
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    coding_frame: str | None = None
    dimension: str | None = None
    section: str = "questions"  # or "demographics"

    @property
    def codes(self) -> list[str]:
        return [c for c, _ in self.options]

    @property
    def labels(self) -> list[str]:
        return [lab for _, lab in self.options]


@dataclass
class Questionnaire:
    id: str
    title: str
    intro: str
    consent_text: str
    consent_question: str
    questions: list[Question]
    easy_read: bool = False
    source: str = ""

    @property
    def main(self) -> list[Question]:
        return [q for q in self.questions if q.section == "questions"]

    @property
    def demographics(self) -> list[Question]:
        return [q for q in self.questions if q.section == "demographics"]

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)


def built_in_demographics() -> dict:
    """The kit's demographic questions by name (``demographics.yaml``)."""
    return yaml.safe_load((HERE / "demographics.yaml").read_text(encoding="utf-8"))


def _question(d, where: str, problems: list[str], section: str, frames: dict) -> Question | None:
    if not isinstance(d, dict):
        problems.append(f"{where}: must be a mapping with id, type and text")
        return None
    qid = str(d.get("id", "")).strip()
    where = f"{where} ({qid!r})" if qid else where
    bad = len(problems)
    unknown = [str(k) for k in d if k not in QUESTION_KEYS]
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(QUESTION_KEYS)})")
    if not _SLUG.match(qid):
        problems.append(f"{where}: key 'id': must start with a letter and hold only letters, digits and '_' (<= 50)")
    qtype = d.get("type")
    if qtype not in TYPES:
        problems.append(f"{where}: key 'type': {qtype!r} is not one of {', '.join(TYPES)}")
    text = str(d.get("text") or "").strip()
    if not text:
        problems.append(f"{where}: key 'text': must not be empty")
    options: list[tuple[str, str]] = []
    if qtype in CHOICE_TYPES:
        raw = d.get("options")
        if qtype == "likert" and raw is None:
            scale = d.get("scale")
            if scale not in SCALES:
                problems.append(f"{where}: key 'scale': {scale!r} is not one of {', '.join(SCALES)} (or give options)")
            else:
                options = list(SCALES[scale])
        elif not isinstance(raw, list) or len(raw) < 2:
            problems.append(f"{where}: key 'options': needs a list of at least two {{code, label}}")
        else:
            for k, o in enumerate(raw, 1):
                if not isinstance(o, dict) or not str(o.get("label") or "").strip():
                    problems.append(f"{where}: option {k}: needs a code and a label")
                    continue
                if set(o) - {"code", "label"}:  # e.g. a label with commas left unquoted in {...}
                    problems.append(f"{where}: option {k}: only 'code' and 'label' are allowed; a label holding "
                                    "a comma or a colon needs quotes")
                code = str(o.get("code", "")).strip()
                if not _CODE.match(code):
                    problems.append(f"{where}: option {k}: key 'code': {code!r} must be letters, digits, '_', '+' "
                                    "or '-' (<= 40), starting with a letter or digit")
                options.append((code, str(o["label"]).strip()))
            codes = [c for c, _ in options]
            dup = sorted({c for c in codes if codes.count(c) > 1})
            if dup:
                problems.append(f"{where}: key 'options': codes must be unique; repeated: {', '.join(dup)}")
    frame = d.get("coding_frame")
    if frame is not None:
        if frame not in frames:
            problems.append(f"{where}: key 'coding_frame': {frame!r} is not one of {', '.join(frames)}")
        else:
            unknown = [c for c, _ in options if c not in frames[frame] and c not in FRAME_EXTRA]
            if unknown:
                problems.append(f"{where}: key 'options': codes not in the '{frame}' coding frame: "
                                f"{', '.join(unknown)} (frame codes: {', '.join(sorted(frames[frame]))})")
    lo, hi = d.get("min"), d.get("max")
    for key, v in (("min", lo), ("max", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            problems.append(f"{where}: key '{key}': must be a number")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and not isinstance(lo, bool) and lo >= hi:
        problems.append(f"{where}: keys 'min', 'max': min must be below max")
    ml = d.get("max_length", DEFAULT_MAX_LENGTH)
    if isinstance(ml, bool) or not isinstance(ml, int) or ml < 1:
        problems.append(f"{where}: key 'max_length': must be a whole number >= 1")
        ml = DEFAULT_MAX_LENGTH
    if len(problems) > bad:
        return None
    num = (lambda v: float(v) if isinstance(v, (int, float)) else None)
    return Question(qid, qtype, text, options, str(d.get("help") or ""), bool(d.get("required", False)),
                    num(lo), num(hi), int(ml), frame, d.get("dimension"), section)


def parse_questionnaire(spec, source: str = "questionnaire") -> Questionnaire:
    """A :class:`Questionnaire` from its parsed YAML (see the module docstring)."""
    from qi_equity.psychology.engagement import barrier_taxonomy

    problems: list[str] = []
    if not isinstance(spec, dict):
        raise QuestionnaireError(source, ["the file must be a YAML mapping with id, title, consent and questions"])
    qid = str(spec.get("id", "")).strip()
    if not _SLUG.match(qid):
        problems.append("key 'id': must start with a letter and hold only letters, digits and '_'")
    title = str(spec.get("title") or "").strip()
    if not title:
        problems.append("key 'title': must not be empty")
    consent = spec.get("consent")
    if not isinstance(consent, dict) or not str(consent.get("text") or "").strip() \
            or not str(consent.get("question") or "").strip():
        problems.append("key 'consent': needs 'text' (what happens to the answers) and 'question' (the box to tick)")
        consent = {}
    frames = {"barriers": set(barrier_taxonomy()["code"])}
    questions: list[Question] = []
    raw = spec.get("questions")
    if not isinstance(raw, list) or not raw:
        problems.append("key 'questions': needs a list of at least one question")
        raw = []
    for i, d in enumerate(raw, 1):
        q = _question(d, f"question {i}", problems, "questions", frames)
        if q:
            questions.append(q)
    demo = spec.get("demographics") or []
    if not isinstance(demo, list):
        problems.append("key 'demographics': must be a list of names or questions")
        demo = []
    library = built_in_demographics()
    for i, d in enumerate(demo, 1):
        if isinstance(d, str):
            if d not in library:
                problems.append(f"demographic {i}: {d!r} is not one of the kit's: {', '.join(library)}")
                continue
            d = dict(library[d], id=d)
        q = _question(d, f"demographic {i}", problems, "demographics", frames)
        if q:
            questions.append(q)
    ids = [q.id for q in questions]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        problems.append(f"question ids must be unique across questions and demographics; repeated: {', '.join(dup)}")
    if problems:
        raise QuestionnaireError(source, problems)
    return Questionnaire(qid, title, str(spec.get("intro") or "").strip(), str(consent["text"]).strip(),
                         str(consent["question"]).strip(), questions, bool(spec.get("easy_read", False)), source)


def questionnaire_table(q: Questionnaire) -> "pd.DataFrame":
    """The questionnaire as a table to read: ``number, section, id, type, question, answers``
    (the answers' wordings joined by " / ")."""
    import pandas as pd

    rows = [{"number": i, "section": "About you" if x.section == "demographics" else "Questions", "id": x.id,
             "type": x.type, "question": x.text, "answers": " / ".join(x.labels)}
            for i, x in enumerate(q.questions, 1)]
    return pd.DataFrame(rows, columns=["number", "section", "id", "type", "question", "answers"])


def load_questionnaire(path: str | Path = "default") -> Questionnaire:
    """Read and check a questionnaire: a YAML file, or ``default`` / ``easy_read`` for the kit's.

    Raises
    ------
    QuestionnaireError
        Every rule the file breaks, each naming the question, the key and the rule (a
        ``ValueError``; a missing file or YAML that does not parse too).
    """
    p = BUILT_IN.get(str(path), Path(path))
    if not p.is_file():
        raise ValueError(f"questionnaire {path}: no such file (or give 'default' or 'easy_read')")
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise QuestionnaireError(p.name, [f"not valid YAML{at}: {getattr(exc, 'problem', exc)}"]) from None
    return parse_questionnaire(spec, p.name)


__all__ = ["Question", "Questionnaire", "QuestionnaireError", "load_questionnaire", "parse_questionnaire",
           "questionnaire_table",
           "built_in_demographics", "SCALES", "TYPES"]
