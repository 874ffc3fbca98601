"""Find the bundled resources/ folder from a checkout, an editable install, a wheel or a
frozen (PyInstaller) bundle, and the user's writable data folder: the one place that knows
where the app's data lives.
"""
import os
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


DATA_DIR_ENV = "GPUPLANNER_DATA_DIR"  # overrides the user's data folder (tests, portable installs)


def user_data_dir() -> Path:
    """The user's writable data folder (updated prices live here): the same folder Qt's
    AppDataLocation gives the window for organisation and application "gpuplanner", so the CLI
    and the window share one. Not created here."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "gpuplanner" / "gpuplanner"


def updated_prices_path() -> Path:
    """Where `catalog update` writes the downloaded instance prices, used before the bundled ones."""
    return user_data_dir() / "instance_prices.csv"
