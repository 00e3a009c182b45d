#!/bin/sh
# Takes the README's screenshots of `maillage demo` with headless Chromium: the
# aggregator's home page filtered on the Nord, on a desktop (1280 px) and on a phone
# (375 px). Run from the repository root after `cargo build`:
#
#   sh docs/images/screenshots.sh [path/to/maillage] [chromium]
#
# Writes docs/images/demo-home.png and docs/images/demo-phone.png.
set -eu
MAILLAGE=${1:-target/debug/maillage}
CHROMIUM=${2:-chromium}
PORT=${SCREENSHOT_PORT:-18481}
OUT=docs/images
LOG=$(mktemp)
PROFILE=$(mktemp -d)

"$MAILLAGE" demo --base-port "$PORT" >"$LOG" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null; wait $DEMO 2>/dev/null; rm -rf "$LOG" "$PROFILE"' EXIT

# The demo prints its URLs once the aggregator knows every action.
tries=0
until grep -q "Annuaire (agrégateur)" "$LOG"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ] || ! kill -0 "$DEMO" 2>/dev/null; then
        cat "$LOG" >&2
        echo "la démo n'a pas démarré" >&2
        exit 1
    fi
    sleep 1
done
BASE=$(sed -n 's/.*Annuaire (agrégateur) *: *\(http[^ ]*\)\/$/\1/p' "$LOG")
URL="$BASE/?departement=59"

shoot() { # width height file
    "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --disable-background-networking --user-data-dir="$PROFILE" \
        --force-device-scale-factor=1 --window-size="$1,$2" \
        --virtual-time-budget=5000 --screenshot="$3" "$URL" >/dev/null 2>&1
    echo "$3 ($1×$2)"
}
shoot 1280 1000 "$OUT/demo-home.png"
shoot 375 1400 "$OUT/demo-phone.png"
