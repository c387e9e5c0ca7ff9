"""NASSS: how complex is the change a team is trying to make, and spread?

The NASSS framework (non-adoption, abandonment, scale-up, spread and sustainability; Greenhalgh
et al. 2017) asks seven questions of a change programme, one per domain, and rates each domain
**simple** (straightforward, predictable, few components), **complicated** (many interacting
components, but knowable) or **complex** (dynamic, unpredictable, not easy to disaggregate). The
more domains are complex, the less likely the change is to be adopted, spread and sustained
without deliberate work on those domains (the authors' finding across the case studies; the
NASSS-CAT tools of Greenhalgh et al. 2020 use the same three ratings).

Contract of ``nasss.csv`` (one row per project x assessment date x domain):

=================  ==============================================================
``provider_code``  the provider running the project
``project``        the change programme (text, not empty)
``assessed_on``    YYYY-MM-DD
``domain``         one of :data:`DOMAINS` (``condition``, ``technology``, ...)
``rating``         ``simple`` / ``complicated`` / ``complex``
``notes``          why (text; may be empty)
=================  ==============================================================

Each project's assessment on one date must rate all seven domains once.

References
----------
.. [1] Greenhalgh T, Wherton J, Papoutsi C, et al. (2017). Beyond adoption: a new framework for
       theorizing and evaluating nonadoption, abandonment, and challenges to the scale-up,
       spread, and sustainability of health and care technologies. J Med Internet Res 19(11):e367.
.. [2] Greenhalgh T, Maylor H, Shaw S, et al. (2020). The NASSS-CAT tools for understanding,
       guiding, monitoring, and researching technology implementation projects in health and
       social care. J Med Internet Res 22(11):e16861.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qi_equity.data.validation import (Failure, ValidationReport, blank, missing_columns, raise_if_invalid,
                                       row_rules)

#: The seven domains [1]_: code -> (label, the question the team answers). Written for this kit.
DOMAINS = {
    "condition": ("The condition", "How well understood is the condition or need, and how much do the people "
                                   "affected differ (other conditions, social circumstances)?"),
    "technology": ("The technology or change", "How dependable and easy to use is what is being introduced, and "
                                               "what knowledge does it need?"),
    "value_proposition": ("The value proposition", "Is it clear what value the change brings to the people "
                                                   "who pay for, deliver and receive it?"),
    "adopters": ("The adopters", "Will staff, patients and carers take it up: what does it ask of their roles, "
                                 "identities and routines?"),
    "organisation": ("The organisation", "How ready is the organisation: capacity, appetite, funding, the work "
                                         "needed to implement it?"),
    "wider_system": ("The wider system", "What policy, regulation, professional bodies and the public say about it, "
                                         "and how organisations work together on it"),
    "embedding": ("Embedding and adapting over time", "Can it adapt as things change, and can the "
                                                      "organisation keep learning from it?"),
}
RATINGS = ("simple", "complicated", "complex")
NASSS_COLUMNS = ["provider_code", "project", "assessed_on", "domain", "rating", "notes"]


def validate_nasss(df: pd.DataFrame, source: str = "nasss.csv") -> ValidationReport:
    """Check a NASSS file: every failure names the column, the rule and how many rows fail."""
    n = len(df)
    f: list[Failure] = []
    if (report := missing_columns(df, NASSS_COLUMNS, source)) is not None:
        return report
    add = row_rules(df, f)
    for c in ("provider_code", "project", "assessed_on", "domain", "rating"):
        add(c, "must not be empty", blank(df[c]))
    date = pd.to_datetime(df["assessed_on"], format="%Y-%m-%d", errors="coerce")
    add("assessed_on", "must be a date YYYY-MM-DD", date.isna() & df["assessed_on"].notna())
    add("domain", "must be one of " + ", ".join(DOMAINS), df["domain"].notna() & ~df["domain"].isin(list(DOMAINS)))
    add("rating", "must be simple / complicated / complex", df["rating"].notna() & ~df["rating"].isin(RATINGS))
    key = ["provider_code", "project", "assessed_on"]
    add("domain", "must appear once per project and date", df.duplicated(key + ["domain"], keep=False))
    counts = df.groupby(key, dropna=False)["domain"].transform("nunique")
    add("domain", f"each project's assessment must rate all {len(DOMAINS)} domains", counts < len(DOMAINS))
    return ValidationReport(source, n, f)


def load_nasss(path: str | Path, provider_code: str | None = None) -> pd.DataFrame:
    """Read and validate a NASSS file (optionally one provider's). Raises ContractError naming the
    file, column, rule and rows. Returns its columns, ``assessed_on`` as Timestamps."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raise_if_invalid(validate_nasss(df, str(path)))
    df = df[NASSS_COLUMNS].copy()
    df["assessed_on"] = pd.to_datetime(df["assessed_on"])
    if provider_code is not None:
        df = df[df["provider_code"] == provider_code]
    return df.reset_index(drop=True)


def _latest(df: pd.DataFrame) -> pd.DataFrame:
    last = df.groupby(["provider_code", "project"])["assessed_on"].transform("max")
    return df[df["assessed_on"] == last]


def nasss_table(df: pd.DataFrame) -> pd.DataFrame:
    """Each project's latest assessment, a row per domain in the framework's order.

    Returns ``provider_code, project, assessed_on, domain, domain_label, question, rating, notes,
    previous_rating, previous_assessed_on`` (the rating at, and the date of, the project's
    assessment before, when there is one)."""
    cols = ["provider_code", "project", "assessed_on", "domain", "domain_label", "question", "rating", "notes",
            "previous_rating", "previous_assessed_on"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    latest = _latest(df).copy()
    earlier = df.merge(latest[["provider_code", "project", "assessed_on"]].drop_duplicates()
                       .rename(columns={"assessed_on": "latest"}), on=["provider_code", "project"])
    earlier = earlier[earlier["assessed_on"] < earlier["latest"]]
    before = earlier.sort_values("assessed_on").groupby(["provider_code", "project", "domain"])
    prev = pd.concat([before["rating"].last().rename("previous_rating"),
                      before["assessed_on"].last().rename("previous_assessed_on")], axis=1)
    latest["domain_label"] = latest["domain"].map(lambda d: DOMAINS[d][0])
    latest["question"] = latest["domain"].map(lambda d: DOMAINS[d][1])
    latest = latest.join(prev, on=["provider_code", "project", "domain"])
    order = {d: i for i, d in enumerate(DOMAINS)}
    latest = latest.sort_values(["provider_code", "project", "domain"], key=lambda s: s.map(order) if s.name == "domain" else s)
    return latest[cols].reset_index(drop=True)


def nasss_profile(df: pd.DataFrame) -> pd.DataFrame:
    """The collaborative view: one row per provider x project (latest assessment), a column of
    ratings per domain (in words, in the framework's order) and ``complex_domains``, how many are
    rated complex (the more, the harder the change is to adopt, spread and sustain [1]_)."""
    t = nasss_table(df)
    if t.empty:
        return pd.DataFrame(columns=["provider_code", "project", "assessed_on"] + [v[0] for v in DOMAINS.values()]
                            + ["complex_domains"])
    wide = t.pivot_table(index=["provider_code", "project", "assessed_on"], columns="domain_label", values="rating",
                         aggfunc="first")
    wide = wide[[v[0] for v in DOMAINS.values()]]
    wide["complex_domains"] = (wide == "complex").sum(axis=1)
    return wide.reset_index().rename_axis(columns=None)
