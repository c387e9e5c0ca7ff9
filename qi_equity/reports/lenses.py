"""Report sections for the lenses beyond understanding variation, and the per-lens explorers.

Each ``show_*`` function displays one report section (tables suppressed, figures with alt
text); each reads the collaborative's lens data folder, which holds (names fixed, as in
``data_samples/``): ``population.csv``, ``system_maps/<code>.yaml``, ``engagement/``,
``readiness_survey.csv``, ``driver_diagrams/<code>.yaml``, ``pdsa_log.csv``,
``self_assessment.csv``. A missing file skips its part with a note, never an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity import disclosure
from qi_equity.data import contract as C
from qi_equity.publication.release import referral_cells
from qi_equity.publication.protect import Rule
from qi_equity.publication.survey import protect_table
from qi_equity.publication.tables import Published, mask_table
from qi_equity.reports.display import show_figure, show_markdown, show_table


def _has(folder, name) -> Path | None:
    p = Path(folder) / name
    return p if p.exists() else None


def representation_table(derived, population, census_date, dimension="ethnic_group",
                         threshold: int = disclosure.DEFAULT_THRESHOLD, release_=None) -> Published:
    """Referrals by group against the catchment population, as the release publishes them."""
    from qi_equity.reports.provider import _window_label
    from qi_equity.system import representation

    r = representation(derived, population, dimension, census_date).reset_index(drop=True)
    r = r[["group", "observed", "observed_share", "lower", "upper", "expected_share", "ratio", "missing"]].copy()
    for c in ("observed_share", "lower", "upper", "expected_share"):
        r[c] = 100 * r[c]
    r["missing"] = r["missing"].map({True: "missing", False: ""})
    rel = release_
    if rel is None:
        rel = _referrals_release(derived, census_date, (dimension, "all"), threshold)
    keys = pd.DataFrame({"measure": "referrals", "period": _window_label(census_date), "specialty": "all",
                         "dimension": dimension, "group": r["group"]})
    pub = mask_table(rel, r, counts={"observed": keys},
                     derived={c: ["observed"] for c in ("observed_share", "lower", "upper", "ratio")})
    if pub.mask["observed"].any():
        # each share is of the groups' total: with one group hidden, the shown shares and counts
        # would give the total, and the total the hidden count
        _hide(pub, ("observed_share", "lower", "upper", "ratio"))
    return pub


def _referrals_release(derived, census_date, dimensions, threshold):
    """A release of the window's referral counts alone, for a table shown without the report's
    own release."""
    from qi_equity.publication.protect import protect
    from qi_equity.publication.release import Release

    p = protect(referral_cells(derived, census_date, 12, tuple(dict.fromkeys(dimensions))).assign(shown=True),
                Rule(threshold=threshold), links=())
    return Release(p.cells, p.rule, (), p)


def _hide(pub: Published, cols) -> None:
    """Hide derived columns of a published table (marked where they had a value)."""
    for c in cols:
        pub.mask[c] = pub.data[c].notna() | pub.mask[c]
        pub.data[c] = float("nan")


REFERRAL_RATE_NOTE = (
    "Referrals per 1,000 people of the catchment population (exact interval below 10 referrals, Byar's "
    "from 10). 'Against their ages' is the indirectly standardised ratio: a group's referrals divided by "
    "those expected if its people were referred at the provider's rates for their sex and age group "
    "(0-15, 16-64, 65+); 1 = as expected, below 1 = fewer referrals than the group's ages and sexes "
    "explain. The ratios are worked out from every group's and every sex and age group's referrals, so "
    "they are shown only when all of those are.")


def _lower(label: str) -> str:
    """A label inside a sentence: lower case, except an acronym ("IMD quintile")."""
    return label if label.split()[0].isupper() else label[0].lower() + label[1:]


def referral_rate_table(derived, population, census_date, dimension="ethnic_group",
                        threshold: int = disclosure.DEFAULT_THRESHOLD, release_=None, per: float = 1000) -> Published:
    """Referrals per head of catchment population by group and the ratio standardised for age
    and sex (:func:`qi_equity.system.referral_rates`), as the release publishes them.

    The ratios' reference rates are the published referrals by sex x age group (the sex x
    working-age table, every pathway of a recorded sex), scaled to the recorded groups' total,
    so that every ratio rests on published counts only and adds no relation between cells: a
    crude rate is shown where its group's referrals are, the ratios where every recorded group's
    and every sex x age group's referrals are. By sex x age itself there is no ratio (it would
    be 1 by construction).

    Columns: ``group, referrals, population, rate, rate_lower, rate_upper, expected, isr,
    isr_lower, isr_upper, fewer``.
    """
    from qi_equity.reports.provider import _window_label
    from qi_equity.system import referral_rates

    rel = release_
    if rel is None:
        rel = _referrals_release(derived, census_date, (dimension, "all", "sex_age"), threshold)
    period = _window_label(census_date)
    sdim = C.DIMENSIONS["sex_age"]
    strata = [s for s in sdim.groups if s not in sdim.unrecorded]
    strata_keys = pd.DataFrame({"measure": "referrals", "period": period, "specialty": "all", "dimension": "sex_age",
                                "group": strata})
    full = referral_cells(derived, census_date, 12, ("sex_age",)).set_index("group")["value"].reindex(strata)
    r = referral_rates(derived, population, dimension, census_date, per=per, strata="sex_age", stratum_referrals=full)
    r = r[["group", "referrals", "population", "rate", "rate_lower", "rate_upper", "expected", "isr", "isr_lower",
           "isr_upper", "fewer"]].copy()
    r["referrals"] = r["referrals"].astype(float)
    keys = pd.DataFrame({"measure": "referrals", "period": period, "specialty": "all", "dimension": dimension,
                         "group": r["group"]})
    pub = mask_table(rel, r, counts={"referrals": keys},
                     derived={c: ["referrals"] for c in ("rate", "rate_lower", "rate_upper")})
    strata_shown = bool(np.isfinite(rel.published(strata_keys)).all())
    if (dimension == "sex_age" or pub.mask["referrals"].any() or pub.data["referrals"].isna().any()
            or not strata_shown):
        _hide(pub, ("expected", "isr", "isr_lower", "isr_upper"))
        if dimension == "sex_age":  # no ratio by construction, not a hidden one
            pub.mask[["expected", "isr", "isr_lower", "isr_upper"]] = False
        pub.data["fewer"] = False
        # rows were in the order of the ratios: with the ratios hidden, that order would tell
        # them; the dimension's own order instead
        order = {g: i for i, g in enumerate(C.DIMENSIONS[dimension].groups)}
        rank = pub.data["group"].map(order).to_numpy()
        idx = np.argsort(rank, kind="stable")
        pub.data = pub.data.iloc[idx].reset_index(drop=True)
        pub.mask = pub.mask.iloc[idx].reset_index(drop=True)
        pub.keys = {c: k.iloc[idx].reset_index(drop=True) for c, k in pub.keys.items()}
    pub.data["fewer"] = pub.data["fewer"].map({True: "fewer", False: ""}).fillna("")
    return pub


def referral_rate_display(pub: Published) -> pd.DataFrame:
    """A referral-rate table in words: rate and ratio with their intervals, ``*`` where hidden."""
    d = pub.display(1)

    def ci(v, lo, hi, dec):
        out = []
        for a, b, c, m in zip(pub.data[v], pub.data[lo], pub.data[hi], pub.mask[v]):
            out.append("*" if m else "" if pd.isna(a) else f"{a:.{dec}f} ({b:.{dec}f} to {c:.{dec}f})")
        return out

    out = pd.DataFrame({"Group": d["group"], "Referrals": d["referrals"], "Population": d["population"],
                        "Per 1,000 people (95% CI)": ci("rate", "rate_lower", "rate_upper", 1),
                        "Against their ages and sexes (95% CI)": ci("isr", "isr_lower", "isr_upper", 2),
                        "Fewer than expected": pub.data["fewer"]})
    if pub.data["isr"].isna().all() and not pub.mask["isr"].any():  # by sex x age: no ratio
        out = out.drop(columns=["Against their ages and sexes (95% CI)", "Fewer than expected"])
    cells = d.attrs.get("cells", {})
    if "referrals" in cells:
        out.attrs["cells"] = {"Referrals": cells["referrals"]}
    return out


def show_system(lens_data: str, provider_code: str, derived, census_date, threshold: int = 5, release_=None):
    from qi_equity.system.system_map import load_system_map, system_map_html
    from IPython.display import HTML, display

    p = _has(lens_data, f"system_maps/{provider_code}.yaml")
    if p:
        display(HTML(system_map_html(load_system_map(p))))
    else:
        show_markdown("No system map for this provider yet (`system_maps/<code>.yaml`).")
    pop = _has(lens_data, "population.csv")
    if pop:
        population = pd.read_csv(pop)
        population = population[population["provider_code"] == provider_code]
        for dim in ("ethnic_group", "imd_quintile", "sex_age"):
            t = representation_table(derived, population, census_date, dim, threshold, release_)
            show_table(t, caption=f"Who is missing? Referrals in the last 12 months against the catchment population "
                                  f"(%), by {dim.replace('_', ' ')}: most missing first")
            rr = referral_rate_table(derived, population, census_date, dim, threshold, release_)
            show_table(referral_rate_display(rr), note=REFERRAL_RATE_NOTE,
                       caption=f"Who is never referred? Referrals per head in the last 12 months, and against what "
                               f"their ages and sexes would give, by {_lower(C.DIMENSIONS[dim].label)}: fewest first")


def readiness_tables(df: pd.DataFrame, rule: Rule | None = None) -> dict:
    """Staff readiness tables, protected like patient tables (respondents are counts): ``items``
    (each item, all roles), ``role_item`` (% agreeing by role and item) and ``roles`` (each role,
    all items), each a :class:`~qi_equity.publication.tables.Published`. Means and intervals are
    shown only where their respondents are published and number at least the rule's minimum
    base (as for medians)."""
    from qi_equity.psychology.readiness import item_scores, items

    rule = rule or Rule()
    derived = {c: ["n", "agree"] for c in ("agree_pct", "agree_lower", "agree_upper")}
    derived.update({c: ["n"] for c in ("mean", "mean_lower", "mean_upper")})

    def means_min(pub: Published) -> Published:
        small = ~(pd.to_numeric(pub.data["n"], errors="coerce") >= rule.min_median)
        for c in ("mean", "mean_lower", "mean_upper"):
            if c in pub.data:
                pub.mask[c] = pub.mask[c] | small
                pub.data[c] = pub.data[c].where(~pub.mask[c])
        return pub

    sc = item_scores(df, by=("item",)).merge(items()[["code", "text"]], left_on="item", right_on="code")
    sc = sc.assign(everyone="All staff")
    it = protect_table(sc[["everyone", "item", "text", "n", "agree", "mean", "mean_lower", "mean_upper", "agree_pct"]],
                       "everyone", {"n": None, "agree": "n"}, derived, rule, "readiness", total=False)
    ri = item_scores(df, by=("role", "item"))
    ri = protect_table(ri[["role", "item", "n", "agree", "agree_pct"]], "role", {"n": None, "agree": "n"},
                       {"agree_pct": ["n", "agree"]}, rule, "readiness")
    br = item_scores(df, by=("role",))
    br = protect_table(br[["role", "n", "agree", "mean", "mean_lower", "mean_upper", "agree_pct", "agree_lower",
                           "agree_upper"]], "role", {"n": None, "agree": "n"}, derived, rule, "readiness_all")
    return {"items": means_min(it), "role_item": ri, "roles": means_min(br)}


def show_psychology(lens_data: str, provider_code: str, threshold: int = 5, rule: Rule | None = None):
    from qi_equity.psychology import barriers_by_group, load_engagement, reach_by_channel, seldom_heard
    from qi_equity.psychology.readiness import distribution, load_readiness, plot_diverging

    rule = rule or Rule(threshold=threshold)
    eng, pop = _has(lens_data, "engagement"), _has(lens_data, "population.csv")
    if eng and pop:
        log = load_engagement(eng, provider_code)
        population = pd.read_csv(pop)
        population = population[population["provider_code"] == provider_code]
        if len(log["activities"]):
            sh = seldom_heard(log, population)
            show_table(sh.round(3), caption="Seldom heard: groups under-represented among engagement participants "
                                            "(share below their share of the catchment, beyond chance)")
            ch = reach_by_channel(log, "sex_age")
            counts = {c: None for c in ch.columns if c != "group"}
            show_table(protect_table(ch, "group", counts, None, rule, "engagement_channel"),
                       caption="Participants by group and channel (online / offline / hybrid)")
            b = barriers_by_group(log, "sex_age")
            top = b.groupby("group").head(2)[["group", "label", "mentions"]].rename(columns={"label": "item"})
            show_table(protect_table(top, "group", {"mentions": None}, None, rule, "engagement_barriers", total=False)
                       .data.rename(columns={"item": "barrier"}).fillna({"mentions": "*"}),
                       caption="The barriers each group raised most")
    else:
        show_markdown("No engagement log for this provider yet.")
    rs = _has(lens_data, "readiness_survey.csv")
    if rs:
        df = load_readiness(rs)
        df = df[df["provider_code"] == provider_code]
        if len(df):
            t = readiness_tables(df, rule)
            dist = distribution(df, by=("item",))
            shown = set(t["items"].data.loc[t["items"].data["n"].notna(), "item"])
            dist = dist[dist["item"].isin(shown)]
            if len(dist):
                show_figure(plot_diverging(dist, title="Staff readiness for change, by item"))
            show_table(t["items"], caption="Readiness item scores (1-5) with 95% intervals, and % agreeing")
            ri = t["role_item"].display(0).pivot(index="role", columns="item", values="agree_pct").reset_index()
            show_table(ri, caption="Readiness by staff role and item: % agreeing (4 or 5)")
            show_table(t["roles"], caption="Readiness by staff role (all items)")


def show_knowledge_driver(lens_data: str, provider_code: str, agg: pd.DataFrame | None = None):
    """The provider's driver diagram and, with the published aggregate ``agg``, the SPC chart of its
    aim's measure: for all patients, a group's series, or the gap between two groups (an aim such as
    "halve the DNA gap between IMD Q1 and Q5"), with the aim's target drawn."""
    from qi_equity.knowledge.driver import load_driver_diagram, plot_driver_diagram
    from qi_equity.measures import MEASURES
    from qi_equity.variation import spc

    p = _has(lens_data, f"driver_diagrams/{provider_code}.yaml")
    if p:
        d = load_driver_diagram(p)
        show_figure(plot_driver_diagram(d))
        aim = d["aim"]
        if agg is not None and aim.get("measure") in MEASURES:
            target = pd.Series({"measure": aim["measure"], "dimension": aim.get("dimension"), "group": aim.get("group"),
                                "reference_group": aim.get("reference_group"), "series_file": None})
            series, title, improvement = pdsa_series(target, agg, lens_data)
            if series["value"].notna().sum() >= 2:
                res = spc(series, value="value", date="month", improvement=improvement, target=aim.get("target"))
                show_figure(res.plot(title=f"The aim's measure: {title}"),
                            caption=f"Aim: {aim['statement']} (target {aim.get('target')}, the red dotted line).")
    else:
        show_markdown("No driver diagram for this provider yet (`driver_diagrams/<code>.yaml`).")


def show_self_assessment(lens_data: str, provider_code: str):
    from qi_equity.assessment import frameworks, load_assessment, plot_provider

    p = _has(lens_data, "self_assessment.csv")
    if not p:
        show_markdown("No self-assessment yet (`self_assessment.csv`).")
        return
    from qi_equity.assessment.selfassessment import latest_assessment, movement

    every = load_assessment(p)
    df = latest_assessment(every)
    moved = movement(every[every["provider_code"] == provider_code])
    if len(moved):
        show_table(moved.assign(first_on=moved["first_on"].dt.strftime("%b %Y"),
                                latest_on=moved["latest_on"].dt.strftime("%b %Y"))
                   .rename(columns={"code": "Theme", "label": "Name", "first_on": "First round", "first_now": "Then",
                                    "latest_on": "Latest round", "latest_now": "Now", "moved": "Moved"})
                   .drop(columns=["provider_code"]),
                   caption="Movement since the first self-assessment (0 not started ... 4 embedded)", decimals=0)
    if (df["provider_code"] == provider_code).any():
        show_figure(plot_provider(df, provider_code, "canvas"))
        q = frameworks()["intentional_equity"]
        ie = df[(df["provider_code"] == provider_code) & (df["framework"] == "intentional_equity")]
        ie = q.merge(ie[["code", "now", "target"]], on="code", how="left")
        show_table(ie[["code", "stage", "question", "now", "target"]], decimals=0,
                   caption="IHI questions for intentional equity: where we are now and where we want to be "
                           "(0 not started ... 4 embedded)")
        a = df[(df["provider_code"] == provider_code) & (df["target"] > df["now"])][["framework", "code", "now",
                                                                                     "target", "action"]]
        show_table(a, caption="How we get there: actions where the target is above where we are now")


def lens_explorer(section, providers: list[str], provider: str, interactive: bool = True, **kwargs):
    """Show one lens section for ``provider`` (static, survives papermill/nbconvert), and when
    ``interactive`` a provider picker that redraws it live (ipywidgets)."""
    section(provider_code=provider, **kwargs)
    if not interactive:
        return None
    import ipywidgets as W
    from IPython.display import display

    pick = W.Dropdown(options=providers, value=provider, description="Provider")
    out = W.Output()

    def redraw(change):
        with out:
            out.clear_output(wait=True)
            section(provider_code=change["new"], **kwargs)

    pick.observe(redraw, names="value")
    box = W.VBox([W.HTML("<b>Another provider</b> (live in JupyterLab or Binder):"), pick, out])
    display(box)
    return box


def show_stages(derived, census_date, threshold: int = 5, dimension: str = "sex_age", release_=None):
    """Pathway stages by group (as the release publishes them) and where each group's gap opens."""
    from qi_equity.reports.provider import stage_summary

    stages, opens = stage_summary(derived, census_date, dimension, threshold=threshold, release_=release_)
    show_table(stages, caption=f"Pathway stages by {dimension.replace('_', ' ')}, all specialties")
    show_markdown("**Where each gap opens:** " + ("; ".join(f"{g}: {s}" for g, s in opens.items())
                                                 or "no group is worse off at any stage."))


def pdsa_series(cycle, agg: pd.DataFrame, lens_data: str = "") -> tuple[pd.DataFrame, str, str]:
    """The series a PDSA cycle aims to move, from the published aggregate or the team's own file:
    ``(frame of month, value; title; improvement direction)``.

    A cycle with ``group`` aims at that group's series; with ``reference_group`` too, at the gap
    between them (group minus reference, month by month; a gap of a measure where lower is better
    improves as it falls); with ``measure`` "custom", at the series in ``series_file`` (``date,
    numerator, denominator`` as a percentage, or ``date, value``; higher is taken as better, as
    for people taking up an offer)."""
    from qi_equity import measures
    from qi_equity.knowledge.pdsa import CUSTOM

    if cycle.measure == CUSTOM:
        raw = pd.read_csv(Path(lens_data) / str(cycle.series_file))
        month = pd.to_datetime(raw["date"]).dt.to_period("M").dt.to_timestamp()
        value = (100 * raw["numerator"] / raw["denominator"] if "numerator" in raw else raw["value"]).astype(float)
        name = Path(str(cycle.series_file)).stem.replace("_", " ")
        return pd.DataFrame({"month": month, "value": value}), f"{name[:1].upper()}{name[1:]}", "increase"
    m = measures.MEASURES[cycle.measure]
    base = agg[(agg["measure"] == cycle.measure) & (agg["specialty"] == "all")]
    if pd.isna(cycle.group):
        one = base[base["dimension"] == "all"]
        return one[["month", "value"]].reset_index(drop=True), m.label, m.improvement
    d = base[base["dimension"] == cycle.dimension]
    g = d[d["group"] == cycle.group].set_index("month")["value"]
    if pd.isna(cycle.reference_group):
        return (g.rename("value").reset_index(), f"{m.label}: {C.DIMENSIONS[cycle.dimension].label}, {cycle.group}"
                if cycle.dimension in C.DIMENSIONS else f"{m.label}: {cycle.group}", m.improvement)
    r = d[d["group"] == cycle.reference_group].set_index("month")["value"]
    gapped = (g - r).rename("value").reset_index()
    return (gapped, f"{m.label}: gap, {cycle.group} minus {cycle.reference_group}",
            "decrease" if m.improvement == "decrease" else "increase")


def show_pdsa(lens_data: str, provider_code: str, agg: pd.DataFrame, census_date=None):
    """Each series a provider's PDSA cycles aim at (a measure, a group's series, a gap between
    groups, or the team's own series) charted with its cycles, predictions against outcomes, and
    numeric predictions against what the series shows by their date."""
    from qi_equity.knowledge import load_pdsa, pdsa_spc, prediction_table
    from qi_equity.knowledge.pdsa import numeric_predictions

    log = _has(lens_data, "pdsa_log.csv") if lens_data else None
    cycles = load_pdsa(log, provider_code) if log else None
    if cycles is None or cycles.empty:
        show_markdown("No PDSA cycles are logged for this provider yet.")
        return
    target = ["measure", "dimension", "group", "reference_group", "series_file"]
    keys = cycles[target].astype(object).where(cycles[target].notna(), "").astype(str).agg("|".join, axis=1)
    for _, group in cycles.groupby(keys, sort=False):
        series, title, improvement = pdsa_series(group.iloc[0], agg, lens_data)
        tested = pdsa_spc(series, group, improvement=improvement)
        show_figure(tested.plot(title=f"{title}, with PDSA cycles"))
        show_table(prediction_table(group, tested).rename(
            columns={"cycle": "Cycle", "change_idea": "Change idea", "start_date": "Started", "running": "Running",
                     "prediction": "Prediction",
                     "what_happened": "What happened", "decision": "Decision",
                     "spc_after": "What the chart showed after"}), caption="Prediction against outcome")
        num = numeric_predictions(group, series, improvement, census_date or series["month"].max())
        if len(num):
            show_table(pd.DataFrame({
                "Cycle": num["cycle"], "Predicted": num["predicted_value"].round(1),
                "By": num["predicted_by"].dt.strftime("%b %Y"),
                "Observed": num["observed"].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.1f}"),
                "On": num["observed_on"].map(lambda d: "" if d is None or pd.isna(d) else f"{pd.Timestamp(d):%b %Y}"),
                "Prediction": num["met"]}), caption="Numeric predictions against the series")


def show_system_for(provider_code: str, lens_data: str, extracts: str, census_date: str, threshold: int = 5):
    """The system lens for one provider, loading its extract (``extracts/<code>.csv``)."""
    from qi_equity.reports.provider import load_provider

    derived = load_provider(Path(extracts) / f"{provider_code}.csv", census_date, validate=False)
    show_system(lens_data, provider_code, derived, census_date, threshold)
    show_stages(derived, census_date, threshold)


def show_knowledge_for(provider_code: str, lens_data: str, extracts: str, census_date: str, threshold: int = 5):
    """The theory-of-knowledge lens for one provider: driver diagram, PDSA cycles against SPC."""
    from qi_equity.reports.provider import load_provider, monthly

    agg = monthly(load_provider(Path(extracts) / f"{provider_code}.csv", census_date, validate=False), census_date,
                  by_specialty=False, threshold=threshold)  # published on its own
    show_knowledge_driver(lens_data, provider_code, agg)
    show_pdsa(lens_data, provider_code, agg, census_date)


def show_psychology_for(provider_code: str, lens_data: str, threshold: int = 5):
    show_psychology(lens_data, provider_code, threshold)
    show_self_assessment(lens_data, provider_code)


def nasss_display(table: pd.DataFrame) -> pd.DataFrame:
    """One project's NASSS assessment for the report: ``Domain, Question, Rating``, the rating at
    the assessment before (headed with its date; left out when there is none), ``Why``."""
    out = pd.DataFrame({"Domain": table["domain_label"], "Question": table["question"], "Rating": table["rating"]})
    before = table["previous_assessed_on"].dropna()
    if len(before):
        out[f"Before ({pd.Timestamp(before.iloc[0]):%b %Y})"] = table["previous_rating"].fillna("")
    out["Why"] = table["notes"].fillna("")
    return out


def show_nasss(lens_data: str, provider_code: str):
    """The provider's change projects through NASSS (:mod:`qi_equity.assessment.nasss`): each
    domain rated simple / complicated / complex, with the rating at the assessment before."""
    from qi_equity.assessment.nasss import DOMAINS, load_nasss, nasss_table

    p = _has(lens_data, "nasss.csv")
    t = nasss_table(load_nasss(p, provider_code)) if p else pd.DataFrame()
    if t.empty:
        show_markdown("No NASSS assessment for this provider yet (see docs/lenses.md).")
        return
    for (project, when), one in t.groupby(["project", "assessed_on"], sort=False):
        n = int((one["rating"] == "complex").sum())
        show_table(nasss_display(one), caption=f"{project}: assessed {pd.Timestamp(when):%d %B %Y}".replace(" 0", " "),
                   note=f"{n} of {len(DOMAINS)} domains rated complex. The more domains are complex, the more the "
                        "change needs deliberate work on them to be adopted, spread and kept (Greenhalgh et al. 2017).")


def nasss_collaborative(path: str) -> pd.DataFrame:
    """Every provider's projects through NASSS, for the collaborative report (latest assessments)."""
    from qi_equity.assessment.nasss import load_nasss, nasss_profile

    prof = nasss_profile(load_nasss(path))
    prof["assessed_on"] = prof["assessed_on"].map(lambda d: f"{pd.Timestamp(d):%b %Y}")
    return prof.rename(columns={"provider_code": "Provider", "project": "Project", "assessed_on": "Assessed",
                                "complex_domains": "Domains rated complex"})


def peer_table(path: str) -> pd.DataFrame:
    """Who can help whom across the collaborative (:func:`qi_equity.assessment.selfassessment.peer_matches`):
    one row per theme and trust that wants to move: ``Theme, Wants to move (now to target), Can help
    (the trusts already doing it), How they plan to get there``."""
    from qi_equity.assessment import load_assessment
    from qi_equity.assessment.selfassessment import SCALE, peer_matches

    p = peer_matches(load_assessment(path))
    p = p.assign(helper_text=p["helper"] + " (" + p["helper_now"].map(SCALE) + ")")
    rows = []  # one row per theme and trust that wants to move, its possible helpers together
    for (code, learner), g in p.groupby(["code", "learner"], sort=False):
        r = g.iloc[0]
        rows.append({"Theme": f"{code} {r['label']}",
                     "Wants to move": f"{learner} ({SCALE[r['learner_now']]} to {SCALE[r['learner_target']]})",
                     "Can help": ", ".join(g["helper_text"]),
                     "How they plan to get there": r["learner_action"] if isinstance(r["learner_action"], str) else ""})
    return pd.DataFrame(rows, columns=["Theme", "Wants to move", "Can help", "How they plan to get there"])


def worksheet_display(answers: pd.DataFrame, scored: bool) -> pd.DataFrame:
    """A team's latest answers to one lens for the report: ``Question, Topic, Team, Answered, Answer``
    and, for the intentional-equity questions, ``Score`` and ``Before`` (the score at the answers
    before)."""
    from qi_equity.assessment.selfassessment import SCALE

    out = pd.DataFrame({"Question": answers["question"], "Topic": answers["topic"], "Team": answers["team"],
                        "Answered": answers["answered_on"].map(lambda d: f"{pd.Timestamp(d):%b %Y}"),
                        "Answer": answers["answer"]})
    if scored:
        words = lambda v: "" if pd.isna(v) else f"{int(v)} {SCALE[int(v)]}"  # noqa: E731
        out["Score"] = answers["score"].map(words)
        out["Before"] = answers["previous_score"].map(words)
    return out


def show_worksheet(lens_data: str, provider_code: str, lens: str):
    """The provider's teams' latest answers to a lens worksheet (:mod:`qi_equity.assessment.worksheets`)."""
    from qi_equity.assessment.worksheets import latest_answers, load_worksheets, templates

    p = _has(lens_data, "worksheets.csv")
    t = templates()[lens]
    a = latest_answers(load_worksheets(p, provider_code), lens) if p else pd.DataFrame()
    if a.empty:
        show_markdown(f"No {t['title'].lower()} worksheet answered for this provider yet "
                      f"(the lens notebook has a form; docs/lenses.md).")
        return
    show_table(worksheet_display(a, t["scored"]), caption=f"{t['title']}: what the team said")


def worksheet_comparison(path: str, lens: str) -> pd.DataFrame:
    """One lens's worksheet across the collaborative: ``Question`` and a column per provider."""
    from qi_equity.assessment.worksheets import compare_answers, load_worksheets

    c = compare_answers(load_worksheets(path), lens)
    return c.drop(columns=["code", "topic"]).rename(columns={"question": "Question"})
