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


def _as_strings_by_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """The definition read_raw's Parquet path must match: each column converted to text by pandas."""
    out = pd.DataFrame(index=df.index)
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[name] = s.dt.strftime("%Y-%m-%d").astype("string")
        elif s.map(lambda v: hasattr(v, "isoformat") and not hasattr(v, "hour")).any():  # datetime.date values
            out[name] = s.map(lambda v: None if pd.isna(v) else v.isoformat()).astype("string")
        elif pd.api.types.is_float_dtype(s) and s.dropna().mod(1).eq(0).all():
            out[name] = s.astype("Int64").astype("string")
        elif pd.api.types.is_bool_dtype(s):
            out[name] = s.map({True: "1", False: "0"}).astype("string")
        else:
            out[name] = s.astype("string")
    return out


def test_parquet_columns_of_every_type_read_as_the_text_pandas_writes(tmp_path):
    import datetime as dt

    df = pd.DataFrame({
        "day": [dt.date(2024, 1, 5), None, dt.date(2025, 12, 31)],
        "stamp": pd.to_datetime(["2024-02-29", None, "2025-03-01 13:45"], format="ISO8601"),
        "whole_float": [1.0, None, 10.0],
        "float": [1.5, None, 2.0],
        "int": pd.array([3, 4, 5], dtype="int16"),
        "nullable_int": pd.array([7, None, 9], dtype="Int8"),
        "flag": pd.array([True, None, False], dtype="boolean"),
        "code": ["A", None, "99"],
        "category": pd.Categorical(["x", "y", None]),
    })
    p = tmp_path / "types.parquet"
    df.to_parquet(p)
    raw = read_raw(p)
    expected = _as_strings_by_pandas(pd.read_parquet(p))
    expected["flag"] = pd.array(["1", None, "0"], dtype="string")  # nullable booleans: 1 / 0 / missing
    pd.testing.assert_frame_equal(raw, expected)
    assert raw["day"].tolist()[0] == "2024-01-05" and pd.isna(raw.loc[1, "day"])
    assert raw["whole_float"].tolist()[::2] == ["1", "10"] and raw["float"].tolist()[::2] == ["1.5", "2.0"]
