"""environment.yml stays in step with pyproject.toml, and the set-up files say what they must."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
    assert match, requirement
    return _normalise(match.group(1)), match.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("test", "authoring"):
        wanted += project["optional-dependencies"][extra]
    return dict(_split(r) for r in wanted)


def conda_requirements() -> dict[str, str]:
    """The environment's packages: conda's, and those its ``pip:`` list installs from PyPI (the
    package itself, ``-e .``, aside)."""
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    found = {}
    for item in environment["dependencies"]:
        items = item.get("pip", []) if isinstance(item, dict) else [item]
        for requirement in items:
            if not requirement.startswith(("python=", "pip", "-e")):
                name, spec = _split(requirement)
                found[name] = spec
    return found


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_environment_yml_python_matches_requires_python():
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert "python=3.11" in environment["dependencies"] and requires == ">=3.11"


def test_pandas_major_version_pinned():
    assert pyproject_requirements()["pandas"].endswith(",<3")


def test_ci_runs_make_test_and_readme_opens_with_the_two_commands():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    first_block = readme[: readme.index("\n## ")]
    assert "make report" in first_block and "make test" in first_block
