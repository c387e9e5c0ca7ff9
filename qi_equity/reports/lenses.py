"""Report sections for the lenses beyond understanding variation, and the per-lens explorers.

Each ``show_*`` function displays one report section (tables suppressed, figures with alt
text); each reads the collaborative's lens data folder, which holds (names fixed, as in
``data_samples/``): ``population.csv``, ``system_maps/<code>.yaml``, ``engagement/``,
``readiness_survey.csv``, ``driver_diagrams/<code>.yaml``, ``pdsa_log.csv``,
``self_assessment.csv``. A missing file skips its part with a note, never an error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qi_equity import disclosure
from qi_equity.reports.display import show_figure, show_markdown, show_table


def _has(folder, name) -> Path | None:
    p = Path(folder) / name
    return p if p.exists() else None


def representation_table(derived, population, census_date, dimension="ethnic_group",
                         threshold: int = disclosure.DEFAULT_THRESHOLD) -> disclosure.Published:
    """Referrals by group against the catchment population (suppressed)."""
    from qi_equity.system import representation

    r = representation(derived, population, dimension, census_date)
    r = r[["group", "observed", "observed_share", "lower", "upper", "expected_share", "ratio", "missing"]].copy()
    for c in ("observed_share", "lower", "upper", "expected_share"):
        r[c] = 100 * r[c]
    r["missing"] = r["missing"].map({True: "missing", False: ""})
    return disclosure.suppress_table(r, {"observed": ["observed_share", "lower", "upper", "ratio"]},
                                     partition=None, threshold=threshold)


def show_system(lens_data: str, provider_code: str, derived, census_date, threshold: int = 5):
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
            t = representation_table(derived, population, census_date, dim, threshold)
            show_table(t, caption=f"Who is missing? Referrals in the last 12 months against the catchment population "
                                  f"(%), by {dim.replace('_', ' ')}: most missing first")


def show_psychology(lens_data: str, provider_code: str, threshold: int = 5):
    from qi_equity.psychology import barriers_by_group, load_engagement, reach_by_channel, seldom_heard
    from qi_equity.psychology.readiness import distribution, item_scores, items, load_readiness, plot_diverging

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
            counts = {c: [] for c in ch.columns if c != "group"}
            show_table(disclosure.suppress_table(ch, counts, threshold=threshold),
                       caption="Participants by group and channel (online / offline / hybrid)")
            b = barriers_by_group(log, "sex_age")
            top = b.groupby("group").head(2)[["group", "label", "mentions"]]
            show_table(disclosure.suppress_table(top, {"mentions": []}, threshold=threshold),
                       caption="The barriers each group raised most")
    else:
        show_markdown("No engagement log for this provider yet.")
    rs = _has(lens_data, "readiness_survey.csv")
    if rs:
        df = load_readiness(rs)
        df = df[df["provider_code"] == provider_code]
        if len(df):
            dist = distribution(df, by=("item",))
            show_figure(plot_diverging(dist, title="Staff readiness for change, by item"))
            sc = item_scores(df, by=("item",)).merge(items()[["code", "text"]], left_on="item", right_on="code")
            show_table(sc[["item", "text", "n", "mean", "mean_lower", "mean_upper", "agree_pct"]].round(2),
                       caption="Readiness item scores (1-5) with 95% intervals, and % agreeing")
            by_role_item = item_scores(df, by=("role", "item")).pivot(index="role", columns="item", values="agree_pct")
            show_table(by_role_item.round(0).reset_index(), decimals=0,
                       caption="Readiness by staff role and item: % agreeing (4 or 5)")
            by_role = item_scores(df, by=("role",))
            show_table(by_role[["role", "n", "mean", "mean_lower", "mean_upper", "agree_pct", "agree_lower",
                                "agree_upper"]].round(2), caption="Readiness by staff role (all items)")


def show_knowledge_driver(lens_data: str, provider_code: str):
    from qi_equity.knowledge.driver import load_driver_diagram, plot_driver_diagram

    p = _has(lens_data, f"driver_diagrams/{provider_code}.yaml")
    if p:
        show_figure(plot_driver_diagram(load_driver_diagram(p)))
    else:
        show_markdown("No driver diagram for this provider yet (`driver_diagrams/<code>.yaml`).")


def show_self_assessment(lens_data: str, provider_code: str):
    from qi_equity.assessment import frameworks, load_assessment, plot_provider

    p = _has(lens_data, "self_assessment.csv")
    if not p:
        show_markdown("No self-assessment yet (`self_assessment.csv`).")
        return
    df = load_assessment(p)
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


def show_stages(derived, census_date, threshold: int = 5, dimension: str = "sex_age"):
    """Pathway stages by group (suppressed) and where each group's gap opens."""
    from qi_equity.reports.provider import stage_summary

    stages, opens = stage_summary(derived, census_date, dimension, threshold=threshold)
    show_table(stages, caption=f"Pathway stages by {dimension.replace('_', ' ')}, all specialties")
    show_markdown("**Where each gap opens:** " + ("; ".join(f"{g}: {s}" for g, s in opens.items())
                                                 or "no group is worse off at any stage."))


def show_pdsa(lens_data: str, provider_code: str, agg: pd.DataFrame):
    """Each measure's SPC chart with the provider's PDSA cycles, and predictions against outcomes."""
    from qi_equity import measures
    from qi_equity.knowledge import load_pdsa, pdsa_spc, prediction_table

    log = _has(lens_data, "pdsa_log.csv") if lens_data else None
    cycles = load_pdsa(log, provider_code) if log else None
    if cycles is None or cycles.empty:
        show_markdown("No PDSA cycles are logged for this provider yet.")
        return
    for measure, group in cycles.groupby("measure"):
        series = agg[(agg.measure == measure) & (agg.dimension == "all") & (agg.specialty == "all")]
        tested = pdsa_spc(series, group, improvement=measures.MEASURES[measure].improvement)
        show_figure(tested.plot(title=f"{measures.MEASURES[measure].label}, with PDSA cycles"))
        show_table(prediction_table(group, tested), caption="Prediction against outcome")


def show_system_for(provider_code: str, lens_data: str, extracts: str, census_date: str, threshold: int = 5):
    """The system lens for one provider, loading its extract (``extracts/<code>.csv``)."""
    from qi_equity.reports.provider import load_provider

    derived = load_provider(Path(extracts) / f"{provider_code}.csv", census_date, validate=False)
    show_system(lens_data, provider_code, derived, census_date, threshold)
    show_stages(derived, census_date, threshold)


def show_knowledge_for(provider_code: str, lens_data: str, extracts: str, census_date: str, threshold: int = 5):
    """The theory-of-knowledge lens for one provider: driver diagram, PDSA cycles against SPC."""
    from qi_equity.reports.provider import load_provider, monthly

    show_knowledge_driver(lens_data, provider_code)
    agg = monthly(load_provider(Path(extracts) / f"{provider_code}.csv", census_date, validate=False), census_date,
                  by_specialty=False, threshold=threshold)
    show_pdsa(lens_data, provider_code, agg)


def show_psychology_for(provider_code: str, lens_data: str, threshold: int = 5):
    show_psychology(lens_data, provider_code, threshold)
    show_self_assessment(lens_data, provider_code)
