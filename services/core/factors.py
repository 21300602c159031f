"""Conversion factors read from their data file into the domain's :class:`FactorSet`.

The shipped file (``services/core/data/coefficients.yaml``) holds the GB/T 2589-2020 Annex A
standard-coal coefficients and the published grid CO2 factors, each with its validity and source;
the arithmetic on them lives in :mod:`services.core.domain.coefficients`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from services.core.domain.coefficients import FactorSet

DEFAULT_FILE = Path(__file__).with_name("data") / "coefficients.yaml"


def load_factors(path: Path) -> FactorSet:
    """The factors of the YAML file at ``path``."""
    return FactorSet.from_document(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def default_factors() -> FactorSet:
    """The shipped factors, read once per process."""
    return load_factors(DEFAULT_FILE)
