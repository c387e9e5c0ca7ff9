"""Shared test data and helpers (importable as `_support`)."""

from functools import lru_cache
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples"
#: Stub report notebooks for tests of the runner itself (see tests/reports/test_robust_runs.py).
STUBS = ROOT / "tests" / "reports" / "stub_notebooks"
CENSUS = "2026-03-31"
#: The sample collaborative's provider codes, read from its extracts.
PROVIDERS = sorted(f.stem for f in (SAMPLE / "providers").glob("*.csv"))

GOOD_ROWS = [
    # pathway_id, provider, specialty, name, referral, first appt, clock stop, outcome, dna, sex, age, eth, imd, ld, interp
    ("P1", "XQZ", "110", "Trauma and Orthopaedics", "2025-01-06", "2025-02-03", "2025-05-05", "treated", "0", "F", "34", "A", "1", "0", "0"),
    ("P2", "XQZ", "110", "Trauma and Orthopaedics", "2025-02-10", "2025-03-10", "", "waiting", "1", "M", "70", "H", "10", "0", "1"),
    ("P3", "XQZ", "120", "Ear Nose and Throat", "2025-03-03", "", "2025-03-31", "removed", "0", "F", "12", "Z", "", "1", "0"),
    ("P4", "XQZ", "120", "Ear Nose and Throat", "2024-06-03", "2024-09-02", "2025-08-04", "treated", "2", "U", "45", "99", "3", "", ""),
]
COLUMNS = ["pathway_id", "provider_code", "specialty", "specialty_name", "referral_date", "first_appointment_date",
           "clock_stop_date", "outcome", "dna_count", "sex", "age", "ethnic_category", "imd_decile",
           "learning_disability", "interpreter_needed"]


def good_frame() -> pd.DataFrame:
    df = pd.DataFrame(GOOD_ROWS, columns=COLUMNS).astype("string")
    return df.replace("", pd.NA)


@lru_cache(maxsize=None)
def _sample_derived(code):
    from qi_equity.reports.provider import load_provider

    return load_provider(SAMPLE / "providers" / f"{code}.csv", CENSUS, validate=False)




def assert_text_inside_figure(fig):
    """Everything a figure draws (tick labels, titles, legends) lies inside it: margins set
    without constrained layout must still leave room for the labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer())  # inches; only what is drawn
    w, h = fig.get_size_inches()
    tol = 0.02
    assert box.x0 >= -tol and box.y0 >= -tol and box.x1 <= w + tol and box.y1 <= h + tol, (box.bounds, (w, h))


def set_first_row(source, column: str, value: str, dest=None):
    """Copy the extract ``source`` to ``dest`` (default: in place) with ``column`` of its first
    data row set to ``value`` -- a bad cell for validation tests."""
    from pathlib import Path

    lines = Path(source).read_text().splitlines()
    i = lines[0].split(",").index(column)
    row = lines[1].split(",")
    row[i] = value
    lines[1] = ",".join(row)
    Path(dest or source).write_text("\n".join(lines) + "\n")
    return Path(dest or source)


def six_providers(outlier_rate=0.226, third=0.139) -> pd.DataFrame:
    """Six providers' DNA counts: five with the spread the sample's case mix gives (8-14%) and one
    (P6) far above them; ``outlier_rate`` and ``third`` (P3's rate) move them."""
    den = [2800, 3200, 3500, 3500, 2900, 1700]
    rates = [0.080, 0.089, third, 0.110, 0.093, outlier_rate]
    return pd.DataFrame({"group": ["P1", "P2", "P3", "P4", "P5", "P6"],
                         "numerator": [round(r * n) for r, n in zip(rates, den)], "denominator": den})
