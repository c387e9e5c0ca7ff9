"""The DuckDB path gives the same aggregates as the pandas path; the national generator writes
chunks; the engine is picked by size."""

import numpy as np
import pandas as pd
import pytest

from _support import CENSUS, PROVIDERS, SAMPLE, _sample_derived
from qi_equity import measures
from qi_equity.data import national
from qi_equity.ingest import DIMENSIONS, aggregate_extract, monthly_measures_duckdb
from qi_equity.publication.metrics import write_metrics_from_aggregate

KEYS = ["provider_code", "month", "specialty", "dimension", "group", "measure"]


def test_duckdb_equals_pandas_on_the_sample_collaborative():
    duck = monthly_measures_duckdb(str(SAMPLE / "providers" / "*.csv"), CENSUS, by_specialty=True)
    duck[KEYS[:1] + KEYS[2:]] = duck[KEYS[:1] + KEYS[2:]].astype(str)  # categoricals on the large-extract path
    pand = pd.concat([measures.monthly_measures(_sample_derived(c), CENSUS, 36, DIMENSIONS, by_specialty=True)
                      for c in PROVIDERS], ignore_index=True)
    assert len(duck) == len(pand) > 100_000
    a = pand.sort_values(KEYS).reset_index(drop=True)
    b = duck.sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[KEYS], b[KEYS], check_dtype=False)
    for c in ("numerator", "denominator", "value"):
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, equal_nan=True, err_msg=c)


def test_engine_is_picked_by_rows_not_size(tmp_path, monkeypatch):
    from qi_equity import ingest

    p = national.generate(tmp_path / "nat.parquet", n_providers=3, pathways=30_000)
    frame = pd.read_parquet(p)
    assert ingest.estimated_rows(p) == len(frame) > 20_000  # from the Parquet footer, exactly
    csv = tmp_path / "nat.csv"
    frame.to_csv(csv, index=False)
    assert abs(ingest.estimated_rows(csv) - len(frame)) < 0.05 * len(frame)  # from size and line length
    assert ingest.choose_engine(p) == "pandas" and ingest.choose_engine(tmp_path) == "duckdb"
    small = aggregate_extract(p, CENSUS)                              # pandas, validated
    monkeypatch.setattr(ingest, "AUTO_DUCKDB_ROWS", len(frame) - 1)   # the same file is now "large"
    assert ingest.choose_engine(p) == "duckdb" and ingest.choose_engine(p, "pandas") == "pandas"
    big = aggregate_extract(p, CENSUS)                                # duckdb
    big[KEYS[:1] + KEYS[2:]] = big[KEYS[:1] + KEYS[2:]].astype(str)
    a, b = small.sort_values(KEYS).reset_index(drop=True), big.sort_values(KEYS).reset_index(drop=True)
    np.testing.assert_allclose(a["denominator"], b["denominator"])
    np.testing.assert_allclose(a["value"].to_numpy(float), b["value"].to_numpy(float), rtol=1e-12, equal_nan=True)
    with pytest.raises(ValueError, match="engine must be"):
        aggregate_extract(p, CENSUS, engine="spark")


def test_national_generator_writes_one_row_group_per_provider(tmp_path):
    import pyarrow.parquet as pq

    p = national.generate(tmp_path / "n.parquet", n_providers=4, pathways=20_000)
    f = pq.ParquetFile(p)
    assert f.metadata.num_row_groups == 4
    assert 12_000 < f.metadata.num_rows < 30_000
    assert not list(tmp_path.glob("*.tmp"))


def test_metrics_for_every_provider_without_html(tmp_path):
    p = national.generate(tmp_path / "n.parquet", n_providers=3, pathways=15_000)
    agg = monthly_measures_duckdb(p, CENSUS)
    paths = write_metrics_from_aggregate(agg, tmp_path / "metrics", CENSUS)
    assert [x.name for x in paths] == ["N000.json", "N001.json", "N002.json"]
    import json

    m = json.loads(paths[0].read_text())
    assert m["icons"]["columns"] == ["measure", "variation", "assurance"] and len(m["icons"]["data"]) == 3


def test_national_funnel_across_all_providers(tmp_path):
    p = national.generate(tmp_path / "n.parquet", n_providers=8, pathways=40_000)
    from qi_equity.ingest import provider_funnel_from_aggregate

    f = provider_funnel_from_aggregate(monthly_measures_duckdb(p, CENSUS), "dna_rate", CENSUS)
    assert f.summary.iloc[0]["n_units"] == 8 and f.data["denominator"].gt(0).all()
    with pytest.raises(ValueError, match="not a proportion"):
        provider_funnel_from_aggregate(monthly_measures_duckdb(p, CENSUS), "completed_median_wait")


def test_duckdb_path_names_empty_keys_instead_of_dropping_rows(tmp_path):
    raw = pd.read_csv(SAMPLE / "providers" / "XQC.csv", dtype=str)
    raw.loc[raw.index[:3], "specialty"] = None
    raw.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"column 'specialty': must not be empty -- 3 row\(s\) fail"):
        monthly_measures_duckdb(tmp_path / "bad.csv", CENSUS, by_specialty=True)
