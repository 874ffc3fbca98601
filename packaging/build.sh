#!/usr/bin/env bash
# Build the one-folder bundle packaging/dist/gpuplanner/ (run it as dist/gpuplanner/gpuplanner).
#   --with-torch   bundle torch too, so the app's own executable runs the benchmark (~1 GB more)
#   --dist DIR     output folder (default packaging/dist)
#   --work DIR     PyInstaller's scratch folder (default packaging/build)
# Uses .venv's Python unless PYTHON is set; that Python needs the package extra (PyInstaller).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../.venv/bin/python}
dist=$here/dist
work=$here/build
spec_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --with-torch) spec_args+=(--with-torch) ;;
        --dist) dist=$2; shift ;;
        --work) work=$2; shift ;;
        *) echo "usage: $0 [--with-torch] [--dist DIR] [--work DIR]" >&2; exit 2 ;;
    esac
    shift
done
if [ ${#spec_args[@]} -gt 0 ] && ! "$python" -c "import torch" 2>/dev/null; then
    echo "build: --with-torch needs torch in $python (pip install '.[bench]')" >&2
    exit 1
fi

start=$SECONDS
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath "$dist" --workpath "$work" \
    "$here/gpuplanner.spec" -- "${spec_args[@]}"
# Ship the menu installer inside the bundle, so an unpacked copy can install itself.
install -m 755 "$here/install-desktop.sh" "$dist/gpuplanner/"
echo "build: $dist/gpuplanner ($(du -sh "$dist/gpuplanner" | cut -f1)) in $((SECONDS - start)) s" >&2
