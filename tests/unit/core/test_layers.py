"""The domain stays pure: what lint-imports' deny-list cannot see, an allow-list checks here."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import services.core.domain

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = Path(services.core.domain.__file__).parent
ALLOWED_PROJECT_MODULES = ("services.core.domain", "services.core.errors")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names.add(node.module or "")
    return names


def _is_allowed(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    if top == "services":
        return any(module == m or module.startswith(m + ".") for m in ALLOWED_PROJECT_MODULES)
    return top in sys.stdlib_module_names


def test_the_domain_imports_only_the_standard_library_itself_and_errors() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert len(files) > 10
    offending = {
        f"{path.relative_to(DOMAIN)}: {module}"
        for path in files
        for module in _imported(path)
        if not _is_allowed(module)
    }
    assert offending == set()


def test_the_domain_contract_forbids_every_runtime_dependency() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    (domain,) = [c for c in contracts if c.get("source_modules") == ["services.core.domain"]]
    runtime = {
        re.split(r"[\[<>=!~;\s]", r)[0].lower().replace("_", "-")
        for r in requires("energymon") or []
        if "extra ==" not in r
    }
    top_levels = {
        top
        for top, dists in packages_distributions().items()
        if any(d.lower().replace("_", "-") in runtime for d in dists)
    }
    assert "sqlalchemy" in top_levels
    assert top_levels - set(domain["forbidden_modules"]) == set()
