"""Questionnaire responses from every channel, checked and merged into one record.

Sources, all read against the same questionnaire (:mod:`qi_equity.psychology.questionnaire`):

- **data-entry files** (``data_entry.xlsx`` or its CSV twin, from :func:`qi_equity.psychology.forms.write_forms`)
  holding typed-in paper forms and event answers: the columns of
  :func:`~qi_equity.psychology.forms.entry_columns`; an answer may be typed as its code or its
  wording, and a tick-all-that-apply answer is ``Yes`` in its own column;
- **online responses** written by the form notebook (the same columns, channel ``online``);
- **survey-tool exports** (CSV or XLSX, e.g. Microsoft Forms), read through a column mapping
  (:func:`load_survey_mapping`): which export column holds which question, how several ticked
  answers are separated, and the channel.

:func:`check_source` names every problem: the file, the column, the rule and how many rows fail
(with a few of the failing values, never free text). :func:`merge_responses` checks every source
first and writes nothing when any fails; then it keeps the rows whose consent is ``Yes``, tags the
channel, and merges rows that share a respondent reference (the box on the paper form, given to
the same person online), keeping the first source's answers and filling its gaps from the later
ones. Every row read is accounted for in the summary: kept, merged into another, or set aside for
want of consent.

Merged table (one row per respondent): ``respondent_id`` (the reference, or ``<file>#<row>`` for a
row without one: stable whatever order the sources are merged in), ``respondent_ref`` (``""`` when
none was given),
``channel`` (online / offline / event; ``;``-joined when one person answered through several),
``response_date`` (YYYY-MM-DD or empty), ``sources`` (file names), then one column per question
id holding its code (a tick-all-that-apply question: its ticked codes joined by ``;``; a number
as a number; text as text).

References
----------
.. [1] Microsoft (2024). *Microsoft Forms: export responses to Excel* (one row per response, one
       column per question; a multiple-choice question's selections joined by ``;``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid, row_rules
from qi_equity.psychology.forms import CHANNELS, FIXED_COLUMNS, TICKED, entry_columns
from qi_equity.psychology.questionnaire import Questionnaire

MAPPING_KEYS = ("columns", "separator", "channel", "consent", "respondent_ref", "response_date", "date_format",
                "values")


@dataclass
class SurveyMapping:
    """How a survey tool's export maps onto a questionnaire (see :func:`load_survey_mapping`)."""

    columns: dict  # export column -> question id
    separator: str = ";"
    channel: str = "online"
    consent: str | None = None          # export column holding consent; None: every row consented
    respondent_ref: str | None = None   # export column holding the respondent reference
    response_date: str | None = None    # export column holding the date (any date or date-time)
    date_format: str | None = None      # its strftime format (default: inferred, day first as in the UK)
    values: dict = field(default_factory=dict)  # question id -> {export wording: code}


def load_survey_mapping(path: str | Path, q: Questionnaire) -> SurveyMapping:
    """Read a column mapping (YAML)::

        columns:                       # export column: question id
          "Have you missed an appointment?": missed
          "What makes it hard?": barriers
        separator: ";"                 # between several ticked answers (Microsoft Forms: ";")
        channel: online                # online, offline or event
        consent: "Do you agree?"       # optional: the export column of the consent answer
        respondent_ref: "Reference"    # optional
        response_date: "Completion time"  # optional
        date_format: "%m/%d/%y %H:%M:%S"  # optional (default: inferred, day first)
        values:                        # optional: export wordings that are not the questionnaire's
          missed: {"Yes, once": "yes", "Yes, more than once": "yes"}

    Raises ``ValueError`` naming the file, the key and the rule."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"survey mapping {p}: no such file")
    try:
        m = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"survey mapping {p.name}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    problems = []
    if not isinstance(m, dict) or not isinstance(m.get("columns"), dict) or not m["columns"]:
        raise ValueError(f"survey mapping {p.name}: key 'columns': needs a mapping of export column -> question id")
    unknown = [k for k in m if k not in MAPPING_KEYS]
    if unknown:
        problems.append(f"unknown key(s) {', '.join(map(str, unknown))} (known: {', '.join(MAPPING_KEYS)})")
    ids = {x.id for x in q.questions}
    bad = [f"{c!r} -> {v!r}" for c, v in m["columns"].items() if v not in ids]
    if bad:
        problems.append(f"key 'columns': not question ids of {q.id}: {', '.join(bad[:5])}")
    if m.get("channel", "online") not in CHANNELS:
        problems.append(f"key 'channel': must be one of {', '.join(CHANNELS)}")
    values = m.get("values") or {}
    if not isinstance(values, dict) or any(k not in ids or not isinstance(v, dict) for k, v in values.items()):
        problems.append("key 'values': needs question id -> {export wording: code}")
        values = {}
    if problems:
        raise ValueError(f"survey mapping {p.name}: " + "; ".join(problems))
    return SurveyMapping({str(k): str(v) for k, v in m["columns"].items()}, str(m.get("separator", ";")),
                         m.get("channel", "online"), m.get("consent"), m.get("respondent_ref"), m.get("response_date"),
                         m.get("date_format"), {k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()})


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or XLSX file (the first sheet, or ``Responses`` when there is one) as text, empty
    cells as missing. Raises ``ValueError`` for a missing or unreadable file."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    try:
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            sheets = pd.ExcelFile(p, engine="openpyxl").sheet_names
            df = pd.read_excel(p, sheet_name="Responses" if "Responses" in sheets else 0, dtype=str,
                               engine="openpyxl")
        else:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except Exception as exc:  # a file that is not what its name says
        raise ValueError(f"{p.name}: cannot be read as {'a workbook' if p.suffix.lower().startswith('.xls') else 'CSV'}: "
                         f"{exc}") from None
    df = df.dropna(how="all").reset_index(drop=True)  # the workbook's empty validated rows
    return df.apply(lambda s: s.str.strip() if s.dtype == object or str(s.dtype).startswith("str") else s)


def from_survey_export(df: pd.DataFrame, q: Questionnaire, mapping: SurveyMapping, source: str) -> pd.DataFrame:
    """A survey tool's export in the data-entry layout (see the module docstring)."""
    missing = [c for c in mapping.columns if c not in df.columns]
    for key in ("consent", "respondent_ref", "response_date"):
        col = getattr(mapping, key)
        if col and col not in df.columns:
            missing.append(col)
    if missing:
        raise_if_invalid(ValidationReport(source, len(df), [Failure(c, "column named in the mapping is missing", -1,
                                                                    len(df)) for c in missing]))
    out = pd.DataFrame(index=df.index)
    out["respondent_ref"] = df[mapping.respondent_ref] if mapping.respondent_ref else pd.NA
    out["channel"] = mapping.channel
    if mapping.response_date:
        d = (pd.to_datetime(df[mapping.response_date], errors="coerce", format=mapping.date_format)
             if mapping.date_format else
             pd.to_datetime(df[mapping.response_date], errors="coerce", dayfirst=True, format="mixed"))
        out["response_date"] = d.dt.strftime("%Y-%m-%d").where(d.notna(), df[mapping.response_date])
    else:
        out["response_date"] = pd.NA
    out["consent"] = df[mapping.consent] if mapping.consent else "Yes"
    by_q = {v: c for c, v in mapping.columns.items()}
    for name, x, code in entry_columns(q)[len(FIXED_COLUMNS):]:
        col = by_q.get(x.id)
        if col is None:
            out[name] = pd.NA
            continue
        vals = df[col].map(lambda v: mapping.values.get(x.id, {}).get(str(v), v) if pd.notna(v) else v)
        if x.type == "multiple":
            def ticked(v, x=x, code=code):
                if pd.isna(v):
                    return pd.NA
                parts = [mapping.values.get(x.id, {}).get(p.strip(), p.strip()) for p in str(v).split(mapping.separator)]
                return TICKED if code in parts or dict(x.options)[code] in parts else pd.NA
            out[name] = df[col].map(ticked)
        else:
            out[name] = vals
    return out


def _answer_code(x, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Codes of a single/likert question's answers typed as a code or a wording (any case), and
    where a non-empty answer is neither."""
    look = {c.lower(): c for c in x.codes} | {lab.lower(): c for c, lab in x.options}
    given = values.notna().to_numpy()
    codes = [look.get(str(v).lower()) if g else None for v, g in zip(values, given)]
    known = np.array([c is not None for c in codes], dtype=bool)
    return (pd.Series([c or "" for c in codes], index=values.index, dtype=object),
            pd.Series(given & ~known, index=values.index))


def check_source(df: pd.DataFrame, q: Questionnaire, source: str) -> ValidationReport:
    """Every rule of the data-entry layout: each failure names the column, the rule and the rows
    (failing values shown for coded columns only: free text is never echoed)."""
    f: list[Failure] = []
    cols = [c for c, _, _ in entry_columns(q)]
    missing = [c for c in ("channel", "consent") if c not in df.columns]
    unknown = [c for c in df.columns if c not in cols]
    present = [c for c in cols if c in df.columns]
    if missing or not set(present) - {c for c, _ in FIXED_COLUMNS}:
        return ValidationReport(source, len(df), [Failure(c, "required column is missing", -1, len(df))
                                                  for c in (missing or ["(any question column)"])])
    add = row_rules(df, f)
    for c in unknown:
        f.append(Failure(c, f"is not a column of questionnaire {q.id} (see codes.csv / the workbook)", -1, len(df)))
    add("channel", "must be one of " + ", ".join(CHANNELS), ~df["channel"].astype("string").str.lower().isin(CHANNELS))
    add("consent", "must be Yes or No", ~df["consent"].astype("string").str.lower().isin(["yes", "no"]))
    if "response_date" in df:
        d = pd.to_datetime(df["response_date"], format="%Y-%m-%d", errors="coerce")
        d = d.fillna(pd.to_datetime(df["response_date"], format="%Y-%m-%d %H:%M:%S", errors="coerce"))
        add("response_date", "must be a date YYYY-MM-DD (or empty)", df["response_date"].notna() & d.isna())
    if "respondent_ref" in df:
        add("respondent_ref", "must be at most 40 characters", df["respondent_ref"].astype("string").str.len() > 40)
    for name, x, code in entry_columns(q)[len(FIXED_COLUMNS):]:
        if name not in df:
            continue
        v = df[name]
        if x.type == "multiple":
            add(name, f"must be '{TICKED}' (ticked) or empty", v.notna() & (v.astype("string").str.lower() != "yes"))
        elif x.type in ("single", "likert"):
            _, bad = _answer_code(x, v)
            add(name, "must be one of its codes or answers: " + ", ".join(x.codes), bad)
        elif x.type == "number":
            n = pd.to_numeric(v, errors="coerce")
            add(name, "must be a number", v.notna() & n.isna())
            if x.min is not None or x.max is not None:
                lo, hi = (x.min if x.min is not None else -np.inf), (x.max if x.max is not None else np.inf)
                add(name, f"must be from {lo:g} to {hi:g}", n.notna() & ((n < lo) | (n > hi)))
        else:
            bad = v.astype("string").str.len() > x.max_length
            if bad.any():  # no sample values: free text may hold what a person wrote about themselves
                f.append(Failure(name, f"must be at most {x.max_length} characters", int(bad.sum()), len(df), []))
    return ValidationReport(source, len(df), f)


def normalise(df: pd.DataFrame, q: Questionnaire, source: str) -> pd.DataFrame:
    """A checked source in the merged layout (see the module docstring), consent still in."""
    ref = df["respondent_ref"].fillna("").astype(str) if "respondent_ref" in df else pd.Series("", index=df.index)
    out = pd.DataFrame({
        "respondent_id": np.where(ref != "", ref, [f"{source}#{k + 1}" for k in range(len(df))]),
        "respondent_ref": ref,
        "channel": df["channel"].astype(str).str.lower(),
        "response_date": (df["response_date"].fillna("").astype(str).str[:10] if "response_date" in df else ""),
        "sources": source, "consent": df["consent"].astype(str).str.lower() == "yes"}, index=df.index)
    for x in q.questions:
        if x.type == "multiple":
            ticked = [df[f"{x.id}:{c}"].notna() if f"{x.id}:{c}" in df else pd.Series(False, index=df.index)
                      for c in x.codes]
            out[x.id] = [";".join(c for c, t in zip(x.codes, row) if t) for row in zip(*ticked)] if len(df) else []
        elif x.id not in df:
            out[x.id] = ""
        elif x.type in ("single", "likert"):
            out[x.id] = _answer_code(x, df[x.id])[0]
        elif x.type == "number":
            out[x.id] = pd.to_numeric(df[x.id], errors="coerce")
        else:
            out[x.id] = df[x.id].fillna("").astype(str)
    return out.reset_index(drop=True)


@dataclass
class Source:
    """One file to merge: its path, and for a survey tool's export, its mapping file."""

    path: str | Path
    mapping: str | Path | None = None


@dataclass
class MergeResult:
    """``responses`` (the merged table) and ``summary``: one row per source with ``source, rows,
    no_consent`` (set aside), ``merged`` (into a row of an earlier source or of the same source
    with the same reference) and ``kept``; the totals row last."""

    responses: pd.DataFrame
    summary: pd.DataFrame


def _combine(group: pd.DataFrame, ids: list[str]) -> dict:
    """One respondent's rows (same reference) as one: the first non-empty answer per question, the
    channels and sources of every row."""
    first = group.iloc[0].to_dict()
    for qid in ids:
        vals = [v for v in group[qid] if not (v is None or (isinstance(v, float) and np.isnan(v)) or v == "")]
        first[qid] = vals[0] if vals else first[qid]
    first["channel"] = ";".join(dict.fromkeys(group["channel"]))
    first["sources"] = ";".join(dict.fromkeys(group["sources"]))
    first["response_date"] = next((d for d in group["response_date"] if d), "")
    return first


def merge_responses(sources: list[Source], q: Questionnaire) -> MergeResult:
    """Check every source, then merge them (see the module docstring).

    Raises
    ------
    qi_equity.data.validation.ContractError
        The first source that fails, with every rule it fails (nothing is merged).
    ValueError
        A missing or unreadable file or mapping.
    """
    frames, rows = [], []
    for s in sources:
        name = Path(s.path).name
        df = read_table(s.path)
        if s.mapping:
            df = from_survey_export(df, q, load_survey_mapping(s.mapping, q), name)
        raise_if_invalid(check_source(df, q, name))
        frames.append(normalise(df, q, name))
    allr = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    ids = [x.id for x in q.questions]
    kept = allr[allr["consent"]] if len(allr) else allr
    has_ref = kept["respondent_ref"] != "" if len(kept) else pd.Series(dtype=bool)
    singles = kept[~has_ref]
    grouped = [_combine(g, ids) for _, g in kept[has_ref].groupby("respondent_ref", sort=False)]
    merged = pd.concat([pd.DataFrame(grouped, columns=kept.columns), singles], ignore_index=True) if len(kept) else kept
    dup_of = kept[has_ref].duplicated("respondent_ref", keep="first") if len(kept) else pd.Series(dtype=bool)
    for s, fr in zip(sources, frames):
        name = Path(s.path).name
        sel = (allr["sources"] == name) if len(allr) else pd.Series(dtype=bool)
        n = int(sel.sum())
        no_consent = int((sel & ~allr["consent"]).sum())
        mine = kept["sources"] == name
        n_merged = int(dup_of[mine[has_ref]].sum()) if len(dup_of) else 0
        rows.append({"source": name, "rows": n, "no_consent": no_consent, "merged": n_merged,
                     "kept": n - no_consent - n_merged})
    summary = pd.DataFrame(rows, columns=["source", "rows", "no_consent", "merged", "kept"])
    if len(summary):
        summary.loc[len(summary)] = ["total", *summary[["rows", "no_consent", "merged", "kept"]].sum()]
    cols = ["respondent_id", "respondent_ref", "channel", "response_date", "sources"] + ids
    out = merged.drop(columns=["consent"], errors="ignore").reindex(columns=cols)
    return MergeResult(out.reset_index(drop=True), summary)


def response_row(q: Questionnaire, answers: dict, respondent_ref: str = "", consent: bool = False,
                 channel: str = "online", response_date: str = "") -> pd.DataFrame:
    """One person's answers (``{question id: code, a list of codes for a tick-all question, a
    number or text}``) as a row of the data-entry layout (empty where not answered)."""
    row = {"respondent_ref": respondent_ref or None, "channel": channel, "response_date": response_date or None,
           "consent": "Yes" if consent else "No"}
    for name, x, code in entry_columns(q)[len(FIXED_COLUMNS):]:
        v = answers.get(x.id)
        if x.type == "multiple":
            row[name] = TICKED if v and code in v else None
        else:
            row[name] = None if v is None or (isinstance(v, str) and not v.strip()) else str(v).strip()
    return pd.DataFrame([row], columns=[c for c, _, _ in entry_columns(q)])


def append_response(path: str | Path, row: pd.DataFrame, q: Questionnaire) -> int:
    """Add rows (the data-entry layout) to a responses file (CSV; created if missing) after
    checking the whole file with them (:func:`check_source`); nothing is written when a rule
    fails (``ContractError``). Returns the file's number of rows."""
    p = Path(path)
    old = read_table(p) if p.is_file() else pd.DataFrame(columns=row.columns)
    both = pd.concat([old.astype(object), row.astype(object)], ignore_index=True)
    raise_if_invalid(check_source(both, q, p.name))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    both.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(p)
    return len(both)


_AGE3 = {"0-15": "0-15", "16-29": "16-64", "30-44": "16-64", "45-64": "16-64", "65-74": "65+", "75+": "65+"}
_SEX = {"F": "Female", "M": "Male"}


def respondent_groups(responses: pd.DataFrame) -> pd.DataFrame:
    """Each respondent's equity groups from the kit's demographic questions, as the reports name
    them: ``sex_age`` (from ``sex`` and ``age_band``) and ``ethnic_group`` (from the NHS ethnic
    category); empty where the person did not say (or the questionnaire did not ask)."""
    from qi_equity.data import contract as C

    n = len(responses)
    sex = responses["sex"] if "sex" in responses else pd.Series([""] * n, index=responses.index)
    age = responses["age_band"] if "age_band" in responses else pd.Series([""] * n, index=responses.index)
    sa = [f"{_SEX[s]} {_AGE3[a]}" if s in _SEX and a in _AGE3 else "" for s, a in zip(sex, age)]
    if "ethnic_category" in responses:
        cat = responses["ethnic_category"].where(responses["ethnic_category"] != "", None)
        eg = C.ethnic_group(cat).astype(object).where(cat.notna(), "")
        eg = eg.where(cat != "Z", "")  # prefer not to say: not recorded
    else:
        eg = pd.Series([""] * n, index=responses.index)
    return pd.DataFrame({"sex_age": sa, "ethnic_group": list(eg)}, index=responses.index)


def to_engagement_log(responses: pd.DataFrame, q: Questionnaire, provider_code: str, activity_prefix: str,
                      activity_date: str, frame_question: str | None = None) -> dict:
    """The merged responses as the engagement log the reports read
    (:mod:`qi_equity.psychology.engagement`): one survey activity per channel (``event`` counts as
    offline), its participants' groups in ``reach``, and in ``barriers`` the ticks of the
    questionnaire's coding-frame question by group (``frame_question``: default the first
    question with ``coding_frame``). Counts are full data: the reports suppress what they publish."""
    groups = respondent_groups(responses)
    if frame_question is None:
        frame_question = next((x.id for x in q.questions if x.coding_frame), None)
    chan = responses["channel"].str.split(";").str[0].replace({"event": "offline"})
    acts, reach, barriers = [], [], []
    for k, (c, idx) in enumerate(chan.groupby(chan, sort=True).groups.items(), 1):
        aid = f"{activity_prefix}-{c[:3].upper()}{k}"
        acts.append({"provider_code": provider_code, "activity_id": aid, "date": activity_date, "channel": c,
                     "format": "survey", "participants": len(idx)})
        for dim in ("sex_age", "ethnic_group"):
            g = groups.loc[idx, dim]
            for grp, n in g[g != ""].value_counts().sort_index().items():
                reach.append({"activity_id": aid, "dimension": dim, "group": grp, "participants": int(n)})
                if frame_question:
                    ticks = responses.loc[g.index[g == grp], frame_question].str.split(";").explode()
                    for theme, m in ticks[ticks.isin(q.question(frame_question).codes) & (ticks != "none")
                                          & (ticks != "other")].value_counts().sort_index().items():
                        barriers.append({"activity_id": aid, "dimension": dim, "group": grp, "theme": theme,
                                         "mentions": int(m)})
    return {"activities": pd.DataFrame(acts), "reach": pd.DataFrame(reach, columns=["activity_id", "dimension", "group", "participants"]),
            "barriers": pd.DataFrame(barriers, columns=["activity_id", "dimension", "group", "theme", "mentions"])}


def reach_of_responses(responses: pd.DataFrame, q: Questionnaire, population: pd.DataFrame, provider_code: str,
                       dimension: str = "sex_age") -> pd.DataFrame:
    """Who the merged responses reached against the catchment population, by ``dimension``
    (``sex_age`` or ``ethnic_group``): the columns of
    :func:`qi_equity.psychology.engagement.reach_vs_population` (shares with Wilson intervals,
    representation, under-represented), full data."""
    from qi_equity.psychology.engagement import reach_vs_population

    log = to_engagement_log(responses, q, provider_code, f"{provider_code}-Q", "2000-01-01")
    pop = population[population["provider_code"] == provider_code]
    return reach_vs_population(log, pop, dimension)


def reach_percent(reach: pd.DataFrame) -> pd.DataFrame:
    """:func:`reach_of_responses` to read: ``group, share, share_lower, share_upper,
    population_share`` in percent (one decimal) and ``under_represented``; no counts."""
    out = reach[["group", "share", "share_lower", "share_upper", "population_share", "under_represented"]].copy()
    for c in ("share", "share_lower", "share_upper", "population_share"):
        out[c] = (100 * out[c]).round(1)
    return out.reset_index(drop=True)


__all__ = ["reach_percent", "reach_of_responses", "response_row", "append_response", "respondent_groups", "to_engagement_log", "Source", "SurveyMapping", "MergeResult", "merge_responses", "check_source", "normalise",
           "read_table", "load_survey_mapping", "from_survey_export"]
