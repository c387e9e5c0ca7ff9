"""A collaborative's configuration (YAML) and the names it may give: checked before any work."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from qi_equity.data.contract import PROVIDER_CODE_PATTERN, iso_date


@dataclass
class Collaborative:
    name: str
    title: str
    census_date: str
    providers: list[dict]
    population: str | None
    root: Path
    lens_data: Path | None = None
    core20plus5_mapping: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> "Collaborative":
        """Read a collaborative's YAML. Raises ``ValueError`` naming the file and key for a
        missing file or key, YAML that does not parse, a census date not in ``YYYY-MM-DD`` form, a
        collaborative ``name`` that is not a plain folder name (it names the output folder), a
        provider code that does not match the contract's pattern, or a code given twice; and,
        for an optional ``core20plus5_mapping`` (a treatment function -> Core20PLUS5 area CSV,
        :mod:`qi_equity.data.core20plus5`), a missing or invalid file."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config {path}: no such file")
        try:
            cfg = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1})" if where is not None else ""
            raise ValueError(f"config {path.name}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
        if not isinstance(cfg, dict):
            raise ValueError(f"config {path.name}: expected a YAML mapping with name, census_date and providers")
        missing = [k for k in ("name", "census_date", "providers") if k not in cfg]
        if missing:
            raise ValueError(f"config {path.name}: missing key(s) {', '.join(missing)}")
        safe_name(str(cfg["name"]), f"config {path.name}: name")
        census = iso_date(cfg["census_date"], f"config {path.name}: census_date")
        if not isinstance(cfg["providers"], list) or not cfg["providers"]:
            raise ValueError(f"config {path.name}: providers must be a list of providers (code, name, extract)")
        root = path.parent.resolve()
        providers, seen = [], set()
        for i, p in enumerate(cfg["providers"]):
            if not isinstance(p, dict) or "code" not in p or "extract" not in p:
                raise ValueError(f"config {path.name}: provider {i + 1} needs 'code' and 'extract'")
            code = str(p["code"])
            if not re.fullmatch(PROVIDER_CODE_PATTERN, code):
                raise ValueError(f"config {path.name}: provider {i + 1}: code {code[:20]!r} does not match the "
                                 "contract's pattern (3-5 upper-case letters or digits, e.g. RXX01)")
            if code in seen:
                raise ValueError(f"config {path.name}: provider code {code} is given twice")
            seen.add(code)
            providers.append({"code": code, "name": str(p.get("name", p["code"])),
                              "extract": str((root / p["extract"]).resolve())})
        pop, lens, c5 = cfg.get("population"), cfg.get("lens_data"), cfg.get("core20plus5_mapping")
        if c5:
            from qi_equity.data.core20plus5 import load_mapping

            c5 = str((root / str(c5)).resolve())
            try:
                load_mapping(c5)
            except ValueError as exc:
                raise ValueError(f"config {path.name}: core20plus5_mapping: {exc}") from None
        return cls(str(cfg["name"]), str(cfg.get("title", cfg["name"])), census, providers,
                   str((root / pop).resolve()) if pop else None, root, (root / lens).resolve() if lens else None,
                   c5 or None)


_ABS_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/|\\)(?:[^\s'\"<>:|]+(?:/|\\))+([^\s'\"<>:|/\\]*)")


def public_message(text: str) -> str:
    """An error as a published report may show it: every absolute path reduced to its file name
    (no server folders). Validation messages are made public by
    :meth:`~qi_equity.data.validation.ValidationReport.format` (no raw values)."""
    return _ABS_PATH.sub(lambda m: m.group(1) or "(folder)", str(text or ""))[:3000]


def safe_name(name: str, what: str = "name") -> str:
    """``name`` if it is a plain folder name (letters, digits, spaces, ``_ . -``, not starting
    with a dot, no ``..``), else ``ValueError``: a name from a config never places a file outside
    the output folder."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}", name) or ".." in name:
        raise ValueError(f"{what} {name[:40]!r} cannot name a folder: use letters, digits, spaces, '_', '.' or '-' "
                         "(not starting with '.', no '..', '/' or '\\')")
    return name
