"""The app version a report is stamped with: gpuplanner.__version__ when set, else the installed
distribution's metadata (a source checkout without an install says 'unknown')."""
from importlib import metadata

import gpuplanner


def app_version() -> str:
    version = getattr(gpuplanner, "__version__", None)
    if version:
        return str(version)
    try:
        return metadata.version("gpuplanner")
    except metadata.PackageNotFoundError:
        return "unknown"
