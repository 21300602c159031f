"""Wire models of the API (requests and responses), with examples for the OpenAPI document: one
module per resource, what they share in ``common``. Every model is importable from the package
too, for callers outside the API's routes (tests, tools)."""

from __future__ import annotations

from services.api.models.alerts import (
    AlertActionIn,
    AlertDetailOut,
    AlertEventOut,
    AlertOut,
    AlertResolveIn,
)
from services.api.models.auth import MeOut, TokenOut
from services.api.models.budgets import BudgetStatusOut
from services.api.models.common import STANDARD_PROBLEMS, Page, ProblemOut, problem_responses
from services.api.models.consumption import ConsumptionOut
from services.api.models.demand import (
    DemandResponseIn,
    DemandResponseOut,
    DemandResponseResultOut,
    PeakDemandOut,
)
from services.api.models.energy import CarrierEnergyOut, EnergyOut
from services.api.models.ingest import IngestRejection, IngestResult
from services.api.models.pue import PueOut
from services.api.models.readings import ReadingOut, ReadingsPage
from services.api.models.registry import (
    EnterpriseOut,
    GatewayOut,
    MeterOut,
    PointOut,
    RegistryApplyOut,
    SiteOut,
)
from services.api.models.reports import (
    DistrictEnterpriseOut,
    DistrictReportOut,
    DistrictTownOut,
    EnterpriseReportOut,
    ReportBudgetOut,
    ReportCarrierOut,
    ReportDataCentreOut,
)

__all__ = [
    "STANDARD_PROBLEMS",
    "AlertActionIn",
    "AlertDetailOut",
    "AlertEventOut",
    "AlertOut",
    "AlertResolveIn",
    "BudgetStatusOut",
    "CarrierEnergyOut",
    "ConsumptionOut",
    "DemandResponseIn",
    "DemandResponseOut",
    "DemandResponseResultOut",
    "DistrictEnterpriseOut",
    "DistrictReportOut",
    "DistrictTownOut",
    "EnergyOut",
    "EnterpriseOut",
    "EnterpriseReportOut",
    "GatewayOut",
    "IngestRejection",
    "IngestResult",
    "MeOut",
    "MeterOut",
    "Page",
    "PeakDemandOut",
    "PointOut",
    "ProblemOut",
    "PueOut",
    "ReadingOut",
    "ReadingsPage",
    "RegistryApplyOut",
    "ReportBudgetOut",
    "ReportCarrierOut",
    "ReportDataCentreOut",
    "SiteOut",
    "TokenOut",
    "problem_responses",
]
