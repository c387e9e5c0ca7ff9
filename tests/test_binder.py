"""Binder builds: repo2docker picks the conda buildpack for binder/, and the Binder pins resolve
together with repo2docker's base environment (the packages every Binder image starts with).

The base environment is read from the pinned repo2docker release itself
(``repo2docker/buildpacks/conda/environment.py-3.11.yml`` for what it asks for and
``environment.py-3.11-linux-64.lock`` for the versions it installs), so a repo2docker upgrade
in pyproject's test extra re-checks the pins against the new base.
"""

import re
import subprocess
import sys
from importlib import resources

import pytest
import yaml

from _support import ROOT

# conda-forge names in the base environment -> the PyPI package pip sees
CONDA_TO_PIP = {"jupyterhub-singleuser": "jupyterhub"}


def _binder_pins() -> list[str]:
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    return [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]


def _base_environment() -> dict[str, str]:
    """repo2docker's base environment for Python 3.11: its top-level packages (the ones its
    environment file asks for; the rest are their dependencies) at the versions its lock installs."""
    conda = resources.files("repo2docker.buildpacks.conda")
    asked = yaml.safe_load((conda / "environment.py-3.11.yml").read_text())["dependencies"]
    names = [re.split(r"[=<>\s]", d)[0] for d in asked if isinstance(d, str)]
    lock = (conda / "environment.py-3.11-linux-64.lock").read_text()
    out = {}
    for name in names:
        if name in ("python", "nodejs", "pip"):
            continue
        m = re.search(rf"/{re.escape(name)}-(\d[^-]*)-[^/]*\.(?:conda|tar\.bz2)", lock)
        assert m, f"{name} not in repo2docker's lock"
        out[CONDA_TO_PIP.get(name, name)] = m.group(1)
    return out


def _resolve(requirements: list[str], tmp_path) -> subprocess.CompletedProcess:
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(requirements) + "\n")
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                           "--only-binary=:all:", "--quiet", "--disable-pip-version-check", "-r", str(req)],
                          capture_output=True, text=True, timeout=300)


def test_base_environment_is_read():
    base = _base_environment()
    assert {"jupyterlab", "notebook", "jupyter_server", "jupyterhub", "ipywidgets"} <= set(base)
    assert base["notebook"].startswith("7.")


def test_binder_pins_resolve_with_repo2docker_base_environment(tmp_path):
    ours = _binder_pins()
    pinned = {re.split(r"==", p)[0].lower() for p in ours}
    base = [f"{n}=={v}" for n, v in _base_environment().items() if n.lower() not in pinned]
    done = _resolve(ours + base, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # and the check can fail: the JupyterLab the kit's own environment uses does not fit the base
    # (notebook 7.4's jupyterlab < 4.5), which is why binder/ leaves JupyterLab to repo2docker
    clash = _resolve(ours + base + ["jupyterlab==4.6.6"], tmp_path)
    assert clash.returncode != 0 and "ResolutionImpossible" in clash.stderr


def test_repo2docker_picks_the_conda_buildpack_for_binder():
    done = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--user-id", "1000",
                           "--user-name", "jovyan", str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Building conda environment for python=3.11" in done.stderr
    dockerfile = done.stdout
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in dockerfile
    assert "./binder/postBuild" in dockerfile
    assert "requirements.txt" not in dockerfile  # binder/ only: the root files are ignored


@pytest.mark.parametrize("notebook", ["00_start_here.ipynb"])
def test_start_here_speaks_to_a_binder_user(notebook):
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "./kit" not in text and "$ " not in text and "pip install" not in text
    assert "Binder" in text
