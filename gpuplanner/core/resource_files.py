"""Find the bundled resources/ folder from a checkout, an editable install, a wheel or a
frozen (PyInstaller) bundle: the one place that knows where the app's data lives.
"""
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def resources_dir() -> Path:
    """The folder holding gpus.csv, instances.csv, models.csv and the app's assets."""
    candidates = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    candidates.append(_PACKAGE_DIR / "resources")  # wheel: shipped as gpuplanner/resources
    candidates.append(_PACKAGE_DIR.parent / "resources")  # source checkout / editable
    for folder in candidates:
        if (folder / "gpus.csv").is_file():
            return folder
    raise FileNotFoundError(
        "gpuplanner's resources folder is missing; looked in: " + ", ".join(map(str, candidates))
    )


def resource_path(name: str) -> Path:
    return resources_dir() / name
