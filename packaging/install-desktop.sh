#!/usr/bin/env bash
# Put the gpuplanner bundle into the user's application menu (no root needed), or take it out.
#   install-desktop.sh [BUNDLE]      copy BUNDLE to ~/.local/lib/gpuplanner, add the menu entry
#                                    and the icons under ~/.local/share (XDG_DATA_HOME)
#   install-desktop.sh --uninstall   remove all of that again
# BUNDLE defaults to the folder holding this script when that is a bundle (build.sh puts a
# copy there), else packaging/dist/gpuplanner. Both directions are safe to repeat.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
target=$HOME/.local/lib/gpuplanner
entry=$data/applications/gpuplanner.desktop
icons=$data/icons/hicolor

refresh_caches() {
    # Optional tools: menus still find the entry without them.
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$data/applications" || true
    fi
    # Refresh an icon cache only where one exists: a stale cache hides new icons, while
    # without a cache the folders are read directly.
    if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -f -t "$icons" || true
    fi
}

if [ "${1:-}" = --uninstall ]; then
    rm -rf "$target" "$entry"
    rm -f "$icons"/*/apps/gpuplanner.png "$icons"/scalable/apps/gpuplanner.svg
    refresh_caches
    echo "install-desktop: removed gpuplanner from the menu" >&2
    exit 0
fi

if [ $# -gt 0 ]; then
    bundle=$1
elif [ -x "$here/gpuplanner" ]; then
    bundle=$here
else
    bundle=$here/dist/gpuplanner
fi
if [ ! -x "$bundle/gpuplanner" ]; then
    echo "install-desktop: no bundle at $bundle (build one with packaging/build.sh)" >&2
    exit 1
fi

# Copy next to the target and swap, so a failed copy never leaves half a bundle behind.
if [ "$(realpath "$bundle")" != "$(realpath -m "$target")" ]; then
    mkdir -p "$(dirname "$target")"
    rm -rf "$target.new"
    cp -a "$bundle" "$target.new"
    rm -rf "$target"
    mv "$target.new" "$target"
fi

resources=$target/_internal/resources
for png in "$resources"/icons/gpuplanner-*.png; do
    size=${png##*-}
    size=${size%.png}
    install -D -m 644 "$png" "$icons/${size}x${size}/apps/gpuplanner.png"
done
install -D -m 644 "$resources/icons/gpuplanner.svg" "$icons/scalable/apps/gpuplanner.svg"

# The shipped entry runs "gpuplanner" from PATH (a pip install); point it at this copy.
mkdir -p "$(dirname "$entry")"
while IFS= read -r line; do
    case $line in
        Exec=*) printf 'Exec="%s/gpuplanner"\n' "$target" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$resources/gpuplanner.desktop" > "$entry.tmp"
mv "$entry.tmp" "$entry"
refresh_caches
echo "install-desktop: gpuplanner is in the menu (runs $target/gpuplanner)" >&2
