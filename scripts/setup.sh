#!/usr/bin/env bash
# Idempotent set-up of a development environment in .venv: system libraries Qt needs
# (when root and apt is there), then the package with its test and bench extras.
# Re-running is cheap: pip is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt offscreen needs the first seven; Qt's xcb platform (a real X11 desktop) the libxcb/X11 ones;
# the tests start the real window on Xvfb (xvfb, xauth); desktop-file-utils validates the menu entry.
APT_PACKAGES=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core
              libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-randr0 libxcb-shape0
              libxcb-sync1 libxcb-xfixes0 libx11-xcb1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
              xvfb xauth desktop-file-utils prometheus)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing[@]}"
    fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.gpuplanner-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # torch==2.13.0 is the CPU build; an unpinned torch would pull a multi-GB CUDA build. The
    # build backend's notice about editable installs is not something a user can act on: silenced.
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q -e '.[test,bench,package]' 'torch==2.13.0'
    echo "$want" > "$stamp"
fi
# Cached bytecode for the app's own modules (an editable install compiles them on first import,
# and not at all where PYTHONDONTWRITEBYTECODE is set): half a second of every start otherwise.
.venv/bin/python -m compileall -q gpuplanner >/dev/null
