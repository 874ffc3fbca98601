#!/usr/bin/env bash
# Set up everything (idempotent) and start the gpuplanner window. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}${QT_QPA_PLATFORM:-}" ]; then
    echo "run: no display here (DISPLAY/WAYLAND_DISPLAY unset): starting offscreen and quitting after the first paint" >&2
    export QT_QPA_PLATFORM=offscreen
    set -- --smoke-test "$@"
fi
exec .venv/bin/python -m gpuplanner "$@"
