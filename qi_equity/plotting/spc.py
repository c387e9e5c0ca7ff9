"""SPC charts with Making Data Count conventions.

Grey common cause, orange concern, blue improvement, purple neutral; dashed process
limits; a target line; the variation and assurance icons' words above the chart, notes below it. Meaning
is never carried by colour alone: each point type has its own marker shape and the icons
are words. Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state, no
change to global style); every figure gets a title and alt text (``fig.qi_alt_text``).

References
----------
.. [1] NHS England, "Making Data Count" (2019): chart and icon conventions.
.. [2] NHS-R Community, NHSRplotthedots 0.2.2, ``ptd_spc_colours``.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd

COLOURS = {  # NHSRplotthedots 0.2.2 defaults [2]_
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289de0",
    "special_cause_concern": "#fab428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
    "line": "#7B7D7D",
    "centre": "#000000",
    "limits": "#231f20",
    "target": "#de1b1b",
}
MARKERS = {"common_cause": "o", "special_cause_improvement": "s", "special_cause_concern": "X",
           "special_cause_neutral_high": "D", "special_cause_neutral_low": "D"}
LABELS = {"common_cause": "Common cause", "special_cause_improvement": "Special cause: improvement",
          "special_cause_concern": "Special cause: concern", "special_cause_neutral_high": "Special cause: neutral",
          "special_cause_neutral_low": "Special cause: neutral"}
def _icon_words(kind: str, field: str = "short") -> dict:
    from qi_equity.data import vocabulary as V

    return {code: e[field] for code, e in V.vocabulary()["icons"][kind].items()}


# the icons' words, from the display vocabulary (qi_equity/data/vocabulary.yaml)
VARIATION_TEXT = _icon_words("variation")
ASSURANCE_TEXT = _icon_words("assurance")
def _rule_words(name: str) -> str:
    from qi_equity.data import vocabulary as V

    return V.vocabulary()["rules"][name]


#: Under a chart that shows earlier special causes while its latest point is common cause.
LATEST_POINT_NOTE = _rule_words("latest_point")


def new_figure(width: float = 8.0, height: float = 4.0, nrows: int = 1, ncols: int = 1,
               layout: str | None = "constrained", top_ticks: bool = False, **kw):
    """A Figure and axes without pyplot (no global state touched).

    ``layout=None`` leaves placement to the caller (:func:`fixed_margins`): charts of a known
    shape, drawn many times per report, skip the constrained-layout pass that otherwise costs
    about a quarter of each draw.

    Axes titles sit just above the axes (``axes.titley`` 1.0) instead of being lifted above
    whatever is drawn there: the lift measures every tick label of the axes at each draw (about
    a tenth of an SPC chart's time) and only matters for tick labels on top, so charts that put
    them there (``top_ticks=True``: the icon matrix, the driver diagram) keep it.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    with mpl.rc_context(None if top_ticks else {"axes.titley": 1.0}):  # read as each axes is made
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def fixed_margins(fig, left: float = 0.75, right: float = 0.2, top: float = 0.35, bottom: float = 0.45,
                  wspace: float = 0.6, hspace: float = 0.65):
    """Place a figure's grid of axes with margins and gaps given in inches (the size of
    tick labels, titles and legends is known for the kit's SPC charts)."""
    w, h = fig.get_size_inches()
    gs = fig.axes[0].get_subplotspec().get_gridspec() if fig.axes else None
    nrows, ncols = gs.get_geometry() if gs is not None else (1, 1)
    axw = max((w - left - right - wspace * (ncols - 1)) / ncols, 0.5)
    axh = max((h - top - bottom - hspace * (nrows - 1)) / nrows, 0.5)
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h,
                        wspace=wspace / axw, hspace=hspace / axh)


def label_width(labels, fontsize: float) -> float:
    """Width in inches of the longest of ``labels`` at ``fontsize`` points, for margins: about
    0.62 em per character (DejaVu Sans and Verdana, the widest fonts a report is read with)."""
    longest = max((len(str(t)) for t in labels), default=0)
    return longest * 0.62 * fontsize / 72


def _series_keys(result, series):
    by = result.by
    if not by:
        return [()]
    keys = result.summary[by].drop_duplicates()
    if series is not None:
        sel = series if isinstance(series, (list, tuple)) and by and len(by) > 1 else [series] if len(by) == 1 else series
        if len(by) == 1 and not isinstance(series, list):
            keys = keys[keys[by[0]] == series]
        else:
            keys = keys.merge(pd.DataFrame([sel] if not isinstance(sel[0], (list, tuple)) else sel, columns=by))
    return [tuple(r) for r in keys.itertuples(index=False)]


def _subset(df, by, key):
    if not by:
        return df
    m = np.ones(len(df), dtype=bool)
    for b, v in zip(by, key):
        m &= (df[b] == v).to_numpy()
    return df[m]


def _fmt(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"


def describe(points: pd.DataFrame, summary: pd.DataFrame, title: str, chart: str = "xmr") -> str:
    """Alt text for one series: what the chart shows and what it says."""
    p = points[~points["missing"]]
    if p.empty:
        return f"{title}: no data."
    last = summary.iloc[-1]
    parts = [f"SPC chart ({chart}) of {title}: {len(p)} points from {p['date'].min():%b %Y} to {p['date'].max():%b %Y}"]
    parts.append(f"centre {_fmt(last['centre'])}" + (
        f", process limits {_fmt(last['lower'])} to {_fmt(last['upper'])}" if pd.notna(last["upper"]) else ""))
    counts = p["point_type"].astype(str).value_counts()
    imp, con = int(counts.get("special_cause_improvement", 0)), int(counts.get("special_cause_concern", 0))
    neu = int(counts.get("special_cause_neutral_high", 0) + counts.get("special_cause_neutral_low", 0))
    parts.append(f"{imp} special-cause improvement, {con} concern and {neu} neutral points")
    parts.append(f"latest point {_fmt(p['value'].iloc[-1])} ({p['date'].iloc[-1]:%b %Y}); variation: "
                 f"{VARIATION_TEXT.get(last['variation'], 'n/a')}")
    if last.get("assurance"):
        parts.append(f"assurance: {ASSURANCE_TEXT.get(last['assurance'], last['assurance'])}")
    if bool(last.get("autocorrelated")):
        parts.append(f"limits may be unreliable: lag-1 autocorrelation {last['autocorrelation']:.2f}")
    return "; ".join(parts) + "."


def month_ticks(start, end, max_ticks: int = 7) -> tuple[list[pd.Timestamp], list[str]]:
    """Tick dates and labels for a monthly axis from ``start`` to ``end``: first days of months
    every 1, 2, 3, 6, 12 or 24 months (the smallest step giving at most ``max_ticks``), aligned
    to January; the year is written under January and under the first tick."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    first = start.year * 12 + start.month - 1 + (start.day > 1 or start != start.normalize())
    last = end.year * 12 + end.month - 1
    span = max(last - first, 0)
    step = next((k for k in (1, 2, 3, 6, 12, 24) if span // k + 1 <= max_ticks), 24)
    months = [m for m in range(first, last + 1) if m % step == 0] or [first]
    dates = [pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1) for m in months]
    labels = [f"{d:%b}\n{d:%Y}" if (i == 0 or d.month == 1) else f"{d:%b}" for i, d in enumerate(dates)]
    if step >= 12:
        labels = [f"{d:%Y}" for d in dates]
    return dates, labels


def month_axis(ax, start, end):
    """Month ticks on the x axis of ``ax`` (see :func:`month_ticks`) and the x range
    ``start``-``end`` with a small margin. Fixed ticks rather than matplotlib's automatic date
    locator: the same result, without re-deriving the ticks at every draw."""
    from matplotlib.dates import date2num
    from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator

    dates, labels = month_ticks(start, end)
    ax.xaxis.set_major_locator(FixedLocator(date2num(dates)))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))
    pad = (pd.Timestamp(end) - pd.Timestamp(start)) * 0.03 + pd.Timedelta(days=10)
    ax.set_xlim(date2num(pd.Timestamp(start) - pad), date2num(pd.Timestamp(end) + pad))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))


def _draw_one(ax, pts, summ, title, ylabel, show_legend, icons=True, xrange=None):
    x = pts["date"]
    y = pts["value"]
    ax.plot(x, y, color=COLOURS["line"], lw=1.2, zorder=2)
    for per, seg in pts.groupby("period", sort=True):
        ax.plot(seg["date"], seg["centre"], color=COLOURS["centre"], lw=1.1, zorder=1)
        if seg["upper"].notna().any():
            ax.plot(seg["date"], seg["upper"], color=COLOURS["limits"], lw=0.9, ls="--", zorder=1)
            ax.plot(seg["date"], seg["lower"], color=COLOURS["limits"], lw=0.9, ls="--", zorder=1)
    if pts["target"].notna().any():
        ax.plot(x, pts["target"], color=COLOURS["target"], lw=1.0, ls=":", zorder=1, label="Target")
    for pt, grp in pts[~pts["missing"]].groupby(pts["point_type"].astype(str), sort=False):
        ax.scatter(grp["date"], grp["value"], s=26 if pt == "common_cause" else 40, marker=MARKERS[pt],
                   color=COLOURS[pt], edgecolor="white", linewidth=0.4, zorder=3, label=LABELS[pt])
    axes_width = ax.get_position().width * ax.figure.get_figwidth()  # inches
    last = summ.iloc[-1]
    words = []
    if icons:  # the icons' words on a line (or two) of their own between the title and the data
        words.append(f"Latest point: {VARIATION_TEXT.get(last['variation'], 'n/a')}")
        if last.get("assurance"):
            words.append(f"Assurance: {ASSURANCE_TEXT.get(last['assurance'], last['assurance'])}")
    one_line = "   \u00b7   ".join(words)
    icon_text = one_line if label_width([one_line], 8.5) <= axes_width else "\n".join(words)
    width_chars = max(30, int(axes_width * 72 / (0.6 * 10.5)))  # the title wraps to the axes' width
    if len(title) > width_chars:
        title = textwrap.fill(title, width_chars)
    ax.set_title(title, fontsize=10.5, loc="left", pad=(4 + 11 * (icon_text.count("\n") + 1)) if icons else 4)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=9)
    month_axis(ax, *(xrange or (x.min(), x.max())))
    ax.grid(axis="y", color="#e6e6e6", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    notes = []
    if icons:
        ax.annotate(icon_text, xy=(0, 1), xycoords="axes fraction", xytext=(0, 3), textcoords="offset points",
                    fontsize=8.5, color="#333333", ha="left", va="bottom")
        earlier = pts["point_type"].astype(str).str.startswith("special_cause").any()
        if earlier and str(last["variation"]) == "common_cause":
            notes.append(LATEST_POINT_NOTE if axes_width > 5 else "Words above: the latest point only")
    if bool(last.get("autocorrelated")):
        note = f"Limits may be unreliable: lag-1 autocorrelation {last['autocorrelation']:.2f}"
        if axes_width > 5:  # room for the reason
            note += " (expected for month-end snapshots; a real shift raises it too)"
        notes.append(note)
    warning = str(summ["warning"].iloc[-1]) if "warning" in summ else (
        "fewer than 13 points: limits provisional" if bool(summ["short_period"].iloc[-1]) else "")
    if warning:  # degenerate or short periods, in the words of the result's summary
        notes.append(warning[:1].upper() + warning[1:])
    # notes go under the chart (below the legend when there is one), never over the data
    chars = max(24, int(axes_width * 72 / (0.6 * 8)))  # the notes wrap to the axes' width
    y = -47 if show_legend else -31
    lines = 0
    for note in notes:
        text = textwrap.fill(note, chars)
        ax.annotate(text, xy=(0, 0), xycoords="axes fraction", xytext=(0, y), textcoords="offset points", fontsize=8,
                    color="#8a4b00" if "autocorrelation" in note else "#555555", ha="left", va="top")
        y -= 11 * (text.count("\n") + 1)
        lines += text.count("\n") + 1
    if show_legend:
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        from matplotlib.transforms import offset_copy

        # below the two-line month/year tick labels, whatever the axes' height
        ax.legend(uniq.values(), uniq.keys(), fontsize=8.5, loc="upper left", bbox_to_anchor=(0, 0),
                  bbox_transform=offset_copy(ax.transAxes, ax.figure, x=0, y=-29, units="points"),
                  frameon=False, ncols=5, borderaxespad=0)
    return lines


def plot_spc(result, ax=None, series=None, title: str | None = None, ylabel: str | None = None,
             ncols: int = 3, legend: bool = True, max_panels: int = 24):
    """Draw an :class:`~qi_equity.variation.SPCResult`.

    Parameters
    ----------
    result : SPCResult
    ax : matplotlib Axes, optional
        Draw one series here (the figure of ``ax`` is returned).
    series : value or tuple, optional
        Which series (values of the ``by`` columns) to draw; all by default.
    title, ylabel : str, optional
    ncols : int
        Columns of small multiples when several series are drawn.
    max_panels : int
        At most this many panels (a ValueError names how many were asked for).

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.qi_alt_text`` describing every panel.
    """
    by = result.by
    if len(result.points) == 0:
        fig, axes = new_figure(height=1.2)
        ax = axes[0, 0]
        dropped = result.options.get("dropped") or []
        msg = "No series has enough months with published (unsuppressed) values to chart"
        msg += f": {', '.join(map(str, dropped))}." if dropped else "."
        ax.text(0.01, 0.5, (title + "\n" if title else "") + msg, fontsize=9, va="center", ha="left", wrap=True)
        ax.set_axis_off()
        fig.qi_alt_text = (title + ": " if title else "") + msg
        return fig
    keys = _series_keys(result, series)
    if not keys:
        raise ValueError(f"no series matches {series!r}")
    if len(keys) > max_panels:
        raise ValueError(f"{len(keys)} series asked for; at most {max_panels} panels (pass series= to choose)")
    chart = result.options.get("chart", "xmr")
    alts = []
    if ax is not None or len(keys) == 1:
        own = ax is None
        if own:
            fig, axes = new_figure(layout=None)
            ax = axes[0, 0]
        fig = ax.figure
        key = keys[0]
        pts, summ = _subset(result.points, by, key), _subset(result.summary, by, key)
        t = title or (" / ".join(map(str, key)) if key else "SPC chart")
        n_notes = _draw_one(ax, pts, summ, t, ylabel, legend)
        alts.append(describe(pts, summ, t, chart))
        cycles = result.options.get("pdsa") or []
        for c in cycles:
            x = pd.Timestamp(c["start_date"])
            ax.axvline(x, color="#005eb8", lw=0.8, ls=":", zorder=0)
            ax.text(x, 1.0, f" C{c['cycle']}", transform=ax.get_xaxis_transform(), fontsize=7, color="#005eb8",
                    va="top", ha="left")
        if cycles:
            alts.append("PDSA cycles start: " + "; ".join(
                f"cycle {c['cycle']} ({pd.Timestamp(c['start_date']):%b %Y}) {c['change_idea']}" for c in cycles) + ".")
        if own:
            fixed_margins(fig, top=0.62, bottom=(0.72 if legend else 0.48) + 0.16 * n_notes)
    else:
        nrows = math.ceil(len(keys) / ncols)
        fig, axes = new_figure(width=3.6 * min(ncols, len(keys)), height=2.6 * nrows + (0.35 if legend else 0),
                               nrows=nrows, ncols=min(ncols, len(keys)), layout=None)
        flat = axes.ravel()
        n_notes = 0
        xrange = (result.points["date"].min(), result.points["date"].max())  # the same on every panel
        for i, key in enumerate(keys):
            pts, summ = _subset(result.points, by, key), _subset(result.summary, by, key)
            t = " / ".join(map(str, key))
            n_notes = max(n_notes, _draw_one(flat[i], pts, summ, t, ylabel if i % ncols == 0 else None, False,
                                             xrange=xrange))
            alts.append(describe(pts, summ, t, chart))
        for j in range(len(keys), len(flat)):
            flat[j].set_visible(False)
        if legend:
            uniq = {}
            for a in flat[:len(keys)]:
                h, lab = a.get_legend_handles_labels()
                uniq.update(zip(lab, h))
            fig.legend(uniq.values(), uniq.keys(), loc="lower center", ncols=5, fontsize=8.5, frameon=False)
        if title:
            fig.suptitle(title, fontsize=11, x=0.01, ha="left")
        fixed_margins(fig, top=(0.7 if title else 0.35) + 0.22, bottom=((0.45 + 0.35) if legend else 0.45) + 0.16 * n_notes,
                      hspace=0.9 + 0.16 * n_notes)
    fig.qi_alt_text = (title + ". " if title and len(keys) > 1 else "") + " ".join(alts)
    return fig
