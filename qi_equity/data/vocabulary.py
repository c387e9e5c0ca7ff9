"""The display vocabulary: the plain words for every code (``vocabulary.yaml``).

Tables, charts and findings sentences take their words from here, so a code such as
``sex_age`` or ``Female 16-64`` is never shown raw where a board member reads it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    """The vocabulary as a dict (read once)."""
    return yaml.safe_load(VOCABULARY_FILE.read_text(encoding="utf-8"))


def measure(code: str, field: str = "label") -> str:
    """A measure's words: ``label`` (a title), ``short`` (in a sentence), ``worse``, ``unit``."""
    m = vocabulary()["measures"].get(code)
    if not m:
        return code.replace("_", " ")
    return m.get(field) or m.get("label") or code.replace("_", " ")


def dimension(code: str) -> str:
    """A dimension's label ("Sex and working age")."""
    return vocabulary()["dimensions"].get(code) or code.replace("_", " ").capitalize()


def _flag_phrase(flag: str, group: str) -> str:
    v = vocabulary()
    f = v["flags"].get(flag) or {"when_yes": f"with '{flag.replace('_', ' ')}' recorded",
                                 "when_no": f"without '{flag.replace('_', ' ')}' recorded"}
    template = v["groups"]["flag"].get(group, group)
    return template.format(flag_yes=f["when_yes"], flag_no=f["when_no"], flag_label=dimension(flag).lower())


def group(dimension_code: str, group_code: str, flag: bool | None = None) -> str:
    """How a group reads in a sentence: ("sex_age", "Female 16-64") -> "working-age women (16-64)".

    ``flag`` marks a PLUS-flag dimension (default: any dimension whose groups are
    Yes / No / Not recorded and that the vocabulary does not list); intersections
    ("Female 16-64, Core20") join the phrase of their first part with the words of the second.
    """
    v = vocabulary()["groups"]
    if dimension_code in v and group_code in v[dimension_code]:
        return v[dimension_code][group_code]
    if flag or (flag is None and group_code in ("Yes", "No", "Not recorded") and dimension_code not in v):
        return _flag_phrase(dimension_code, group_code)
    if ", " in group_code:
        first, second = group_code.rsplit(", ", 1)
        part = vocabulary()["intersection_parts"].get(second, second)
        for dim, names in v.items():
            if first in names and dim not in ("flag",):
                return f"{names[first]} {part}"
        return f"{first} {part}"
    return group_code


def sentence_case(text: str) -> str:
    """First letter upper case, the rest as written ("Asian or Asian British patients")."""
    return text[:1].upper() + text[1:] if text else text


def kind(code: str) -> str:
    return vocabulary()["kinds"].get(code, code.replace("_", " "))


def stage(code: str) -> str:
    return vocabulary()["stages"].get(code, code.replace("_", " "))


def grain(months: int) -> str:
    return vocabulary()["grains"].get(int(months), f"{int(months)}-monthly")


def icon(kind_: str, code) -> dict | None:
    """A Making Data Count icon's entry (``kind_`` "variation" or "assurance"): ``label`` (its
    words), ``short``, ``colour``, ``letter`` and, for variation, ``points``; None when ``code``
    is missing or not an icon."""
    if code is None or (isinstance(code, float) and code != code):
        return None
    return vocabulary()["icons"][kind_].get(str(code))


def icon_text(kind_: str, code, field: str = "short") -> str:
    """An icon's words ("common cause", "misses the target"); "n/a" when there is no icon."""
    entry = icon(kind_, code)
    return entry[field] if entry else "n/a"


def column(name) -> str:
    """A column's heading: the vocabulary's words for a known column name, else as given."""
    return vocabulary()["columns"].get(str(name), str(name))


def value(v):
    """A table cell: a code the vocabulary knows ("intentional_equity", True) in words, else as given."""
    if isinstance(v, (bool, np.bool_)):
        v = str(bool(v))
    if isinstance(v, str):
        return vocabulary()["values"].get(v, dimension(v) if v in vocabulary()["dimensions"] else v)
    return v


def is_count_column(name) -> bool:
    """Whether a column holds counts (shown as whole numbers)."""
    return str(name) in vocabulary()["count_columns"]


def relabel(df, keep=()):
    """A copy of ``df`` for display: columns headed in words (:func:`column`), coded cell values
    in words (:func:`value`), count columns as whole numbers (nullable integers, so a hidden or
    missing count stays empty). ``attrs`` (the release keys of published counts) move with
    their columns (and so do ``attrs["icons"]``'); the columns in ``keep`` keep their values."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if c in keep:
            continue
        s = out[c]
        if s.dtype == bool or s.dtype == object or str(s.dtype) in ("string", "str"):
            out[c] = s.map(value)
        elif is_count_column(c) and pd.api.types.is_float_dtype(s):
            whole = s.dropna()
            if (whole == whole.round()).all():
                out[c] = s.round().astype("Int64")
    mapping = {c: column(c) for c in out.columns}
    out = out.rename(columns=mapping)
    out.attrs = dict(df.attrs)
    for key in ("cells", "icons"):
        if df.attrs.get(key):
            out.attrs[key] = {mapping.get(k, k): v for k, v in df.attrs[key].items()}
    return out
