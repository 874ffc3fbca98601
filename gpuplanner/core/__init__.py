"""The estimation core: pure Python + pandas. No Qt, no pynvml, no torch.

Public entry points: load_catalogs(), PlanInputs, estimate(); the comparison of every instance
type × precision is gpuplanner.core.sweep.sweep() (it needs pandas, which a single plan does not).
"""
from gpuplanner.core.catalogs import Catalogs, load_catalogs
from gpuplanner.core.errors import CatalogError, InputError
from gpuplanner.core.estimate import estimate
from gpuplanner.core.inputs import PlanInputs
from gpuplanner.core.model import ModelArch
from gpuplanner.core.result import PlanResult

__all__ = [
    "Catalogs", "CatalogError", "InputError", "ModelArch", "PlanInputs", "PlanResult",
    "estimate", "load_catalogs",
]

