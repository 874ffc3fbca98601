"""The estimation core: pure Python + pandas. No Qt, no pynvml, no torch.

Public entry points: load_catalogs(), PlanInputs, estimate(), sweep().
"""
from gpuplanner.core.catalogs import Catalogs, load_catalogs
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch
from gpuplanner.core.result import PlanResult
from gpuplanner.core.sweep import sweep

__all__ = [
    "Catalogs", "CatalogError", "InputError", "ModelArch", "PlanInputs", "PlanResult",
    "estimate", "load_catalogs", "sweep",
]
