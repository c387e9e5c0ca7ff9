"""A national-scale synthetic extract (about 200 providers, 7.5 million pathways) written to
Parquet one provider at a time, so the whole extract is never held in memory.

Each provider reuses the sample generator (:mod:`qi_equity.data.sample`) with its own seeded
size, deprivation and ethnicity mix, wait and DNA levels. No inequities are planted beyond
the sample generator's background gradients; this data set exists to measure speed and
memory (benchmarks/), not to test findings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.data import sample as S

EFFECTIVE_MONTHS = 41.5  # referral months per provider that survive into the extract (window + open backlog)


def provider_specs(n_providers: int = 200, pathways: int = 7_500_000, seed: int = 7) -> list[S.ProviderSpec]:
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0, 0.45, n_providers)
    sizes = sizes / sizes.sum() * pathways / EFFECTIVE_MONTHS
    specs = []
    for i in range(n_providers):
        imd = rng.dirichlet(np.linspace(1.0, 1.0, 10) * 3) * 100
        white = rng.uniform(0.55, 0.95)
        rest = rng.dirichlet([1, 3, 1.5, 1]) * (1 - white)
        specs.append(S.ProviderSpec(
            code=f"N{i:03d}", name=f"National synthetic trust {i:03d}", referrals_per_month=max(20, int(sizes[i])),
            population=int(sizes[i] * 2000), imd_weights=list(imd),
            ethnic_weights={"White": white, "Mixed": rest[0], "Asian": rest[1], "Black": rest[2], "Other": rest[3]},
            wait_multiplier=float(rng.uniform(0.8, 1.4)), dna_multiplier=float(rng.uniform(0.7, 1.4)),
            unrecorded_ethnicity=float(rng.uniform(0.02, 0.2))))
    return specs


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in ("referral_date", "first_appointment_date", "clock_stop_date"):
        out[c] = pd.to_datetime(out[c].replace("", None), format="%Y-%m-%d").dt.date
    out["imd_decile"] = out["imd_decile"].astype("Int8")
    for c in ("dna_count", "age", "learning_disability", "interpreter_needed"):
        out[c] = out[c].astype("int16")
    return out


def generate(out: str | Path, n_providers: int = 200, pathways: int = 7_500_000, seed: int = 7) -> Path:
    """Write ``out`` (a Parquet file, one row group per provider). Returns its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    writer = None
    try:
        for i, spec in enumerate(provider_specs(n_providers, pathways, seed)):
            df = _typed(S._generate_provider(spec, np.random.default_rng([seed, i])))
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        writer.close()
        writer = None
        tmp.replace(out)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return out
