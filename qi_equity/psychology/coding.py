"""Coding what people wrote: a coding sheet out, coded answers back in, agreement between coders,
themes by group, and quotes that are safe to publish.

1. :func:`coding_sheet` lists every free-text answer of the merged responses
   (:mod:`qi_equity.psychology.responses`) as an item to code (``item_id``), scrubbed of
   identifiers (:mod:`qi_equity.psychology.scrub`), with the respondent's groups.
2. Coders fill in ``codes`` (codes of the coding frame, ``;`` between several) and ``coder`` (a
   role or initials). Two coders may code the same items: one row per item and coder.
3. :func:`load_coded` checks the sheet against the coding frame (:func:`load_coding_frame`:
   barriers, assets or what works, ideas, or any codes of a collaborative's own frame) and names
   the file, the column, the rule and the rows of every problem.
4. :func:`agreement` gives Cohen's kappa for each code (present or not) over the items two coders
   both coded, with the observed and chance agreement [1]_; :func:`consensus` keeps, per item, the
   codes both coders gave (or the one coder's).
5. :func:`theme_frequencies` counts, per group, the respondents who raised each theme, with Wilson
   intervals [2]_ (full data: a report publishes them through the disclosure rules);
   :func:`co_occurrence` counts respondents raising each pair of themes; :func:`quotes` picks
   illustrative quotes only from groups of at least the threshold, scrubbed again, and drops any
   that still holds an identifier.

References
----------
.. [1] Cohen J (1960). A coefficient of agreement for nominal scales. *Educational and
       Psychological Measurement* 20(1): 37-46.
.. [2] Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
       *JASA* 22: 209-212.
.. [3] Braun V, Clarke V (2006). Using thematic analysis in psychology. *Qualitative Research in
       Psychology* 3(2): 77-101 (codes, themes, a shared frame).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from qi_equity.data.validation import Failure, ValidationReport, blank, raise_if_invalid, row_rules
from qi_equity.equity.intervals import wilson
from qi_equity.psychology.questionnaire import Questionnaire
from qi_equity.psychology.responses import read_table, respondent_groups
from qi_equity.psychology.scrub import has_identifier, scrub

DEFAULT_FRAME = Path(__file__).with_name("coding_frame.yaml")
KINDS = ("barrier", "asset", "idea", "other")
SHEET_COLUMNS = ["item_id", "respondent", "question_id", "question", "text", "sex_age", "ethnic_group", "codes",
                 "coder"]


def load_coding_frame(path: str | Path = "default") -> pd.DataFrame:
    """A coding frame (YAML: ``id`` and ``codes``, each ``{code, label, kind, about}``; kind one of
    barrier, asset, idea, other). Returns ``code, label, kind, about``. Raises ``ValueError`` naming
    the file, the code and the rule."""
    p = DEFAULT_FRAME if str(path) == "default" else Path(path)
    if not p.is_file():
        raise ValueError(f"coding frame {path}: no such file (or give 'default')")
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"coding frame {p.name}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    codes = spec.get("codes") if isinstance(spec, dict) else None
    if not isinstance(codes, list) or not codes:
        raise ValueError(f"coding frame {p.name}: key 'codes': needs a list of {{code, label, kind}}")
    problems, seen = [], set()
    for i, c in enumerate(codes, 1):
        if not isinstance(c, dict) or not str(c.get("code") or "").strip() or not str(c.get("label") or "").strip():
            problems.append(f"code {i}: needs a code and a label")
            continue
        if c["code"] in seen:
            problems.append(f"code {i} ({c['code']!r}): given twice")
        seen.add(c["code"])
        if c.get("kind", "other") not in KINDS:
            problems.append(f"code {i} ({c['code']!r}): key 'kind': must be one of {', '.join(KINDS)}")
    if problems:
        raise ValueError(f"coding frame {p.name}: " + "; ".join(problems))
    return pd.DataFrame([{"code": str(c["code"]), "label": str(c["label"]), "kind": c.get("kind", "other"),
                          "about": str(c.get("about") or "")} for c in codes])


def _respondent_keys(responses: pd.DataFrame) -> pd.Series:
    """A stable key per respondent: the merged table's ``respondent_id`` (the reference, or the
    source file and row), else the reference or ``row<k>``."""
    if "respondent_id" in responses:
        return responses["respondent_id"].astype(str)
    ref = responses["respondent_ref"].fillna("").astype(str)
    return pd.Series(np.where(ref != "", ref, [f"row{k + 1}" for k in range(len(ref))]), index=responses.index)


def coding_sheet(responses: pd.DataFrame, q: Questionnaire, names=()) -> pd.DataFrame:
    """Every free-text answer as an item to code (columns :data:`SHEET_COLUMNS`; ``codes`` and
    ``coder`` empty), scrubbed of identifiers (``names``: further names to remove)."""
    keys = _respondent_keys(responses)
    groups = respondent_groups(responses)
    rows = []
    for x in q.questions:
        if x.type != "text" or x.id not in responses:
            continue
        for i, text in responses[x.id].items():
            if isinstance(text, str) and text.strip():
                rows.append({"item_id": f"{keys[i]}:{x.id}", "respondent": keys[i], "question_id": x.id,
                             "question": x.text, "text": scrub(text, names), "sex_age": groups.at[i, "sex_age"],
                             "ethnic_group": groups.at[i, "ethnic_group"], "codes": "", "coder": ""})
    return pd.DataFrame(rows, columns=SHEET_COLUMNS)


def check_coded(df: pd.DataFrame, frame: pd.DataFrame, sheet: pd.DataFrame | None = None,
                source: str = "coded sheet") -> ValidationReport:
    """Every rule of a coded sheet: each failure names the column, the rule and the rows."""
    missing = [c for c in ("item_id", "codes", "coder") if c not in df.columns]
    if missing:
        return ValidationReport(source, len(df), [Failure(c, "required column is missing", -1, len(df)) for c in missing])
    f: list[Failure] = []
    add = row_rules(df, f)
    add("item_id", "must not be empty", blank(df["item_id"]))
    add("coder", "must not be empty (a role or initials)", blank(df["coder"]))
    known = set(frame["code"])
    bad = df["codes"].fillna("").map(lambda v: any(c.strip() and c.strip() not in known for c in str(v).split(";")))
    add("codes", "each must be a code of the coding frame (';' between several): " + ", ".join(sorted(known)), bad)
    add("item_id", "each item once per coder", df.duplicated(["item_id", "coder"], keep=False) & ~blank(df["item_id"]))
    if sheet is not None:
        add("item_id", "must be an item of the coding sheet", ~df["item_id"].isin(set(sheet["item_id"])) & ~blank(df["item_id"]))
    return ValidationReport(source, len(df), f)


def load_coded(path: str | Path, frame: pd.DataFrame, sheet: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check a coded sheet (CSV or XLSX). Returns its rows with ``codes`` as lists.
    Raises :class:`~qi_equity.data.validation.ContractError` naming the file, column, rule, rows."""
    df = read_table(path)
    raise_if_invalid(check_coded(df, frame, sheet, Path(path).name))
    df = df.copy()
    df["codes"] = df["codes"].fillna("").map(lambda v: sorted({c.strip() for c in str(v).split(";") if c.strip()}))
    return df.reset_index(drop=True)


def agreement(coded: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa per code over the items two coders both coded [1]_ (the first two coders in
    the sheet's order): ``code, items, both, neither, only_first, only_second, observed, chance,
    kappa`` (NaN where chance agreement is 1: every item coded the same by chance alone). The
    last row, ``code`` "all codes", pools every (item, code) decision."""
    coders = list(dict.fromkeys(coded["coder"]))[:2]
    cols = ["code", "items", "both", "neither", "only_first", "only_second", "observed", "chance", "kappa"]
    if len(coders) < 2:
        return pd.DataFrame(columns=cols)
    a = coded[coded["coder"] == coders[0]].set_index("item_id")["codes"]
    b = coded[coded["coder"] == coders[1]].set_index("item_id")["codes"]
    items = [i for i in a.index if i in b.index]
    rows, pooled = [], np.zeros(4)
    for code in frame["code"]:
        x = np.array([code in a[i] for i in items])
        y = np.array([code in b[i] for i in items])
        t = np.array([(x & y).sum(), (~x & ~y).sum(), (x & ~y).sum(), (~x & y).sum()], float)
        pooled += t
        rows.append([code, len(items), *t.astype(int), *_kappa(t)])
    rows.append(["all codes", len(items), *pooled.astype(int), *_kappa(pooled)])
    return pd.DataFrame(rows, columns=cols)


def _kappa(t: np.ndarray) -> tuple[float, float, float]:
    """(observed, chance, kappa) of a 2 x 2 table ``both, neither, only_first, only_second`` [1]_:
    kappa = (p_o - p_e) / (1 - p_e)."""
    n = t.sum()
    if n == 0:
        return np.nan, np.nan, np.nan
    both, neither, first, second = t / n
    po = both + neither
    pe = (both + first) * (both + second) + (neither + second) * (neither + first)
    return po, pe, (po - pe) / (1 - pe) if pe < 1 else np.nan


def consensus(coded: pd.DataFrame) -> pd.DataFrame:
    """One row per item: ``item_id, codes`` -- the codes every coder of the item gave (an item one
    coder coded keeps that coder's codes)."""
    out = coded.groupby("item_id", sort=False)["codes"].agg(lambda s: sorted(set.intersection(*map(set, s))))
    return out.reset_index()


def theme_frequencies(coded: pd.DataFrame, sheet: pd.DataFrame, frame: pd.DataFrame, dimension: str = "sex_age",
                      confidence: float = 0.95) -> pd.DataFrame:
    """Respondents raising each theme, per group of ``dimension`` (``sex_age`` or ``ethnic_group``):
    ``group, code, label, kind, respondents`` (who wrote any coded answer in the group),
    ``raised``, ``share`` and its Wilson ``share_lower, share_upper`` [2]_ (full data)."""
    c = consensus(coded).merge(sheet[["item_id", "respondent", dimension]], on="item_id")
    c = c[c[dimension] != ""]
    per = c.groupby([dimension, "respondent"])["codes"].agg(lambda s: set().union(*map(set, s))).reset_index()
    rows = []
    for g, grp in per.groupby(dimension, sort=True):
        n = len(grp)
        for r in frame.itertuples():
            x = int(grp["codes"].map(lambda s, code=r.code: code in s).sum())
            rows.append({"group": g, "code": r.code, "label": r.label, "kind": r.kind, "respondents": n, "raised": x})
    out = pd.DataFrame(rows, columns=["group", "code", "label", "kind", "respondents", "raised"])
    if len(out):
        lo, hi = wilson(out["raised"].to_numpy(float), out["respondents"].to_numpy(float), confidence)
        out["share"] = out["raised"] / out["respondents"]
        out["share_lower"], out["share_upper"] = lo, hi
    return out


def co_occurrence(coded: pd.DataFrame, sheet: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Respondents raising both themes of each pair (a square table, codes as rows and columns;
    the diagonal: respondents raising the theme at all)."""
    c = consensus(coded).merge(sheet[["item_id", "respondent"]], on="item_id")
    per = c.groupby("respondent")["codes"].agg(lambda s: set().union(*map(set, s)))
    codes = list(frame["code"])
    m = np.array([[int(sum(1 for s in per if a in s and b in s)) for b in codes] for a in codes])
    return pd.DataFrame(m, index=codes, columns=codes)


def quotes(coded: pd.DataFrame, sheet: pd.DataFrame, frame: pd.DataFrame, threshold: int = 5,
           dimension: str = "sex_age", per_theme: int = 2, names=()) -> pd.DataFrame:
    """Illustrative quotes: per theme, up to ``per_theme`` answers coded with it, only from groups
    of ``dimension`` with at least ``threshold`` respondents who wrote a coded answer (never from a
    group small enough to identify someone), scrubbed again (``names`` too) and dropped if any
    identifier is left. Returns ``code, label, group, quote``."""
    c = consensus(coded).merge(sheet[["item_id", "respondent", "text", dimension]], on="item_id")
    sizes = c[c[dimension] != ""].groupby(dimension)["respondent"].nunique()
    big = set(sizes[sizes >= threshold].index)
    rows = []
    for r in frame.itertuples():
        hits = c[c["codes"].map(lambda s, code=r.code: code in s) & c[dimension].isin(big)]
        for h in hits.itertuples():
            text = scrub(h.text, names)
            if has_identifier(text) or not text.strip() or any(x["quote"] == text for x in rows):
                continue
            rows.append({"code": r.code, "label": r.label, "group": getattr(h, dimension), "quote": text})
            if sum(1 for x in rows if x["code"] == r.code) >= per_theme:
                break
    return pd.DataFrame(rows, columns=["code", "label", "group", "quote"])


__all__ = ["load_coding_frame", "coding_sheet", "check_coded", "load_coded", "agreement", "consensus",
           "theme_frequencies", "co_occurrence", "quotes", "KINDS"]
