#!/bin/sh
# Install Debian's headless-capable Chromium for the dashboard's browser test
# (tests/observability/test_dashboard.py drives /usr/bin/chromium over the DevTools protocol).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (CI image / container).
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium  # with its recommends: the set the test was run with
/usr/bin/chromium --version
