#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser tests, unless they are already
# there with the same major version. Idempotent; prints one line saying what it did.
# Debian pins both to the same build (chromium-driver depends on chromium of the same version).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

major() { "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9.]+' | head -n1 | cut -d. -f1; }

if [[ -x $CHROMIUM && -x $CHROMEDRIVER ]]; then
    browser=$(major "$CHROMIUM" || true)
    driver=$(major "$CHROMEDRIVER" || true)
    if [[ -n $browser && $browser == "$driver" ]]; then
        echo "chromium: already installed (Chromium and ChromeDriver $browser)"
        exit 0
    fi
    why="versions differ (chromium ${browser:-?}, chromedriver ${driver:-?})"
else
    why="missing"
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "chromium: $why, and installing it needs root or sudo" >&2; exit 1; }
    sudo=(sudo)
fi

start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
version=$("$CHROMIUM" --version 2>/dev/null || echo "chromium ?")
echo "chromium: $why, installed $version and its driver in $((SECONDS - start))s"
