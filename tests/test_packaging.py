"""pyproject.toml, environment.yml and binder/ pin the same packages and versions."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(reqs):
    out = {}
    for r in reqs:
        if r.startswith("-e"):
            continue
        name, _, version = r.partition("==")
        assert version, f"unpinned requirement {r}"
        out[name.strip().lower()] = version.strip()
    return out


def _conda_pip(path):
    env = yaml.safe_load(path.read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = [d for d in deps if isinstance(d, dict)][0]["pip"]
    return _pins(pip)


def test_same_packages_and_versions_everywhere():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pp["project"]["requires-python"] == ">=3.11"
    want = _pins(pp["project"]["dependencies"] + pp["project"]["optional-dependencies"]["test"])
    for name in ("pandas", "numpy", "scipy", "seaborn", "matplotlib", "ipywidgets", "papermill", "nbconvert",
                 "great-expectations", "pyyaml", "tqdm", "jupyterlab", "pytest", "nbval", "hypothesis"):
        assert name in want, name
    assert _conda_pip(ROOT / "environment.yml") == want
    assert not (ROOT / "binder" / "requirements.txt").exists()


def test_binder_pins_the_runtime_without_jupyterlab_or_test_tools():
    """Binder's image pins what the notebooks run on, at pyproject's versions, but not JupyterLab
    (repo2docker's base environment brings its own: tests/test_binder.py) nor any test tool."""
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = _pins(pp["project"]["dependencies"])
    binder = _conda_pip(ROOT / "binder" / "environment.yml")
    assert binder == {k: v for k, v in runtime.items() if k != "jupyterlab"}
    assert not set(binder) & set(_pins(pp["project"]["optional-dependencies"]["test"]))


def test_entry_point_and_binder_kernel():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pp["project"]["scripts"]["qi-equity"] == "qi_equity.cli:main"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "--name qi-equity" in post and "pip install --no-deps -e ." in post


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./kit test" in ci
    readme = (ROOT / "README.md").read_text()
    assert "./kit reports" in readme and "./kit test" in readme
