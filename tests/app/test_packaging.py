"""The double-clickable app: the PyInstaller bundle paints its window and answers the hidden
benchmark flag; the menu entry, icons, AppStream file and menu installer are sound."""
import configparser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

from gpuplanner.bench import protocol
from gpuplanner.bench.launcher import RUN_BENCHMARK_FLAG

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
BUNDLE_LIMIT_BYTES = 300 * 2**20  # about 235 MB today; a jump means something heavy got in


def run(argv, timeout_s: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run to the end with text output captured; the caller judges the outcome."""
    return subprocess.run([str(arg) for arg in argv], check=False, capture_output=True, text=True,
                          timeout=timeout_s, **kwargs)


def desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_spec_bundles_the_jobs_the_comparison_process_imports_by_name():
    """No import statement names them, so PyInstaller's analysis alone would leave them out."""
    from gpuplanner.ui.accuracy.job import BAND_ROWS
    from gpuplanner.ui.compare.sweep_runner import COMPARISON, CURVES

    spec = (PACKAGING / "gpuplanner.spec").read_text()
    for job in (COMPARISON, CURVES, BAND_ROWS):
        assert f'"{job.partition(":")[0]}"' in spec, job


def test_desktop_entry_has_the_required_keys():
    entry = desktop_entry(RESOURCES / "gpuplanner.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == "gpuplanner"
    assert entry["Comment"]
    assert entry["Exec"] == "gpuplanner"  # a pip install's gui-script; install-desktop.sh rewrites it
    assert entry["Icon"] == "gpuplanner"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].split(";") == ["Development", "Science", ""]


@pytest.mark.parametrize("size", ICON_SIZES)
def test_icon_is_a_png_of_its_size(size):
    path = RESOURCES / "icons" / f"gpuplanner-{size}.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    image = QImage(str(path))
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()  # rounded corners stay transparent


def test_icon_svg_renders():
    assert QSvgRenderer(str(RESOURCES / "icons" / "gpuplanner.svg")).isValid()


def test_appstream_file_names_the_desktop_entry():
    metainfo = PACKAGING / "io.github.gpuplanner.metainfo.xml"
    root = ET.parse(metainfo).getroot()
    assert root.findtext("launchable[@type='desktop-id']") == "gpuplanner.desktop"
    assert root.findtext("provides/binary") == "gpuplanner"
    if shutil.which("appstreamcli"):
        check = run(["appstreamcli", "validate", "--no-net", metainfo])
        assert check.returncode == 0, check.stdout + check.stderr


def fake_bundle(folder: Path) -> Path:
    """What install-desktop.sh reads from a real bundle: the launcher, resources, its own copy."""
    (folder / "_internal").mkdir(parents=True)
    shutil.copytree(RESOURCES, folder / "_internal" / "resources")
    (folder / "gpuplanner").write_text("#!/bin/sh\necho fake gpuplanner\n")
    shutil.copy(PACKAGING / "install-desktop.sh", folder)
    for launcher in ("gpuplanner", "install-desktop.sh"):
        (folder / launcher).chmod(0o755)
    return folder


def snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_install_desktop_installs_and_uninstalls_idempotently(tmp_path):
    bundle = fake_bundle(tmp_path / "bundle")
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(home)}

    def install(*args, script=PACKAGING / "install-desktop.sh"):
        done = run(["bash", script, *args], env=env)
        assert done.returncode == 0, done.stderr
        return snapshot(home)

    installed = install(bundle)
    target = home / ".local/lib/gpuplanner"
    entry_path = home / ".local/share/applications/gpuplanner.desktop"
    assert desktop_entry(entry_path)["Exec"] == f'"{target}/gpuplanner"'
    assert (target / "gpuplanner").read_text() == (bundle / "gpuplanner").read_text()
    for size in ICON_SIZES:
        assert (home / f".local/share/icons/hicolor/{size}x{size}/apps/gpuplanner.png").is_file()
    assert (home / ".local/share/icons/hicolor/scalable/apps/gpuplanner.svg").is_file()
    if shutil.which("desktop-file-validate"):
        check = run(["desktop-file-validate", entry_path])
        assert check.returncode == 0, check.stdout

    assert install(bundle) == installed
    # The copy inside the installed bundle finds its own folder and leaves it in place.
    assert install(script=target / "install-desktop.sh") == installed

    install("--uninstall")
    assert install("--uninstall") == {
        name: data for name, data in installed.items() if "gpuplanner" not in name
    }  # only the desktop tools' caches remain
    assert not target.exists()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """Build the bundle once with packaging/build.sh into a temporary folder (~40 s here)."""
    out = tmp_path_factory.mktemp("pyinstaller")
    built = run(["bash", PACKAGING / "build.sh", "--dist", out / "dist", "--work", out / "work"],
                env={**os.environ, "PYTHON": sys.executable}, timeout_s=600)
    assert built.returncode == 0, built.stderr[-4000:]
    return out / "dist" / "gpuplanner"


def headless_env(**extra: str) -> dict[str, str]:
    """The environment without any display: a bundle that opens a window unasked then aborts."""
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    return {k: v for k, v in os.environ.items() if k not in hidden} | extra


@pytest.mark.slow
def test_bundle_is_lean(bundle):
    internal = bundle / "_internal"
    for heavy in ("torch", "pytest", "hypothesis", "pypdf", "PyInstaller", "PySide6/Qt/translations"):
        assert not (internal / heavy).exists(), heavy
    size_bytes = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    assert size_bytes < BUNDLE_LIMIT_BYTES
    assert (internal / "resources" / "gpus.csv").is_file()
    assert os.access(bundle / "install-desktop.sh", os.X_OK)


@pytest.mark.slow
def test_bundle_paints_its_window(bundle, tmp_path):
    smoke = run([bundle / "gpuplanner", "--smoke-test"], cwd=tmp_path, env=headless_env(QT_QPA_PLATFORM="offscreen"))
    assert smoke.returncode == 0, smoke.stderr[-4000:]
    assert re.search(r"first paint: \d+ ms", smoke.stdout), smoke.stdout


@pytest.mark.slow
def test_bundle_runs_its_comparison_child(bundle, tmp_path):
    """The frozen app spawns itself as the comparison process (multiprocessing.freeze_support
    in gpuplanner.app.main) and gets a table back."""
    done = run([bundle / "gpuplanner", "--smoke-compare"], cwd=tmp_path, env=headless_env(QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0, done.stderr[-4000:]
    assert re.search(r"^comparison: [1-9]\d* rows$", done.stdout, re.M), done.stdout


@pytest.mark.slow
def test_bundle_runs_the_benchmark_child_for_the_hidden_flag(bundle, tmp_path):
    """launcher.child_command's frozen contract: the app's own executable with the flag first
    runs the child, never Qt (there is no display: Qt would abort). No torch inside: no_torch."""
    child = run([bundle / "gpuplanner", RUN_BENCHMARK_FLAG, "--quick"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                env=headless_env())
    messages = [protocol.decode(line) for line in child.stdout.splitlines()]
    assert [(m["type"], m.get("kind")) for m in messages] == [("error", "no_torch"), ("done", None)], child.stderr
    assert child.returncode == protocol.EXIT_FAILED
