"""CSV and Parquet load the same; the aggregate form is validated."""

import pandas as pd
import pytest

from qi_equity.data.io import load_aggregate, load_extract, read_raw, validate_aggregate
from qi_equity.data.validation import ContractError


def test_csv_and_parquet_give_the_same_extract(tmp_path, good_csv):
    csv = load_extract(good_csv)
    typed = csv.copy()
    pq = tmp_path / "x.parquet"
    typed.to_parquet(pq)
    back = load_extract(pq)
    pd.testing.assert_frame_equal(csv, back[csv.columns], check_dtype=False)


def test_read_raw_keeps_values_as_written(good_csv):
    raw = read_raw(good_csv)
    assert raw.loc[0, "imd_decile"] == "1"
    assert pd.isna(raw.loc[1, "clock_stop_date"])
    assert raw.loc[3, "ethnic_category"] == "99"


def test_aggregate_form_roundtrip_and_errors(tmp_path):
    agg = pd.DataFrame({"month": ["2025-01-01", "2025-02-01"], "provider_code": "XQZ", "dimension": "all",
                        "group": "All", "measure": "dna_rate", "numerator": [3, 4], "denominator": [40, 50]})
    p = tmp_path / "agg.csv"
    agg.to_csv(p, index=False)
    out = load_aggregate(p)
    assert out["value"].tolist() == pytest.approx([7.5, 8.0])
    assert out["specialty"].eq("all").all()
    bad = agg.copy()
    bad.loc[1, "numerator"] = 60
    rep = validate_aggregate(bad)
    assert [(f.column, f.rule, f.failing_rows) for f in rep.failures] == [
        ("numerator", "must not exceed denominator", 1)]
    bad.to_csv(p, index=False)
    with pytest.raises(ContractError):
        load_aggregate(p)
