"""A wheel built from this checkout, installed elsewhere and run from another directory,
finds its bundled catalogs (resources/ ships inside the package)."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_finds_its_catalogs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, timeout=300, capture_output=True)
    wheel = next(wheels.glob("gpuplanner-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for catalog in ("gpus.csv", "instances.csv", "models.csv"):
        assert f"gpuplanner/resources/{catalog}" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, timeout=300, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import gpuplanner, gpuplanner.core.resource_files as r, gpuplanner.cli as c;"
            "print(gpuplanner.__file__); print(r.resources_dir()); c.main(['catalog', 'models', '--format', 'csv'])")
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    package_file, resources, *table = done.stdout.splitlines()
    assert package_file.startswith(str(target)), "imported the checkout, not the wheel"
    assert resources == str(target / "gpuplanner" / "resources")
    assert any(line.startswith("llama-3.1-405b,405853388800") for line in table)
