"""The lock files are in step with pyproject.toml, and CI's environment is the dev lock."""

from __future__ import annotations

import importlib.util
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from conftest import IN_CI, REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _lockcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockcheck", REPO / ".ci" / "lockcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lockcheck = _lockcheck()
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_locks_are_stamped_with_this_pyproject() -> None:
    assert lockcheck.problems() == []


def test_a_new_dependency_makes_the_lock_stale(tmp_path: Path) -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    changed = tmp_path / "pyproject.toml"
    changed.write_text(text.replace('"tzdata>=2024.1",', '"tzdata>=2024.1", "filelock>=3",'))
    assert lockcheck.stamp(changed) != lockcheck.stamp()


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_every_direct_dependency_is_pinned_within_its_range(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = lockcheck.pins(REPO / lock)
    wanted = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


def test_this_environment_is_the_dev_lock() -> None:
    """CI (and README's test command) install with --require-hashes from the dev lock."""
    pins = lockcheck.pins(REPO / "requirements-dev.lock")
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    differ = {
        name: (version, installed.get(name))
        for name, version in pins.items()
        if installed.get(name) != version
    }
    if differ and not IN_CI:
        pytest.skip(f"this venv was not installed from requirements-dev.lock: {differ}")
    assert differ == {}
