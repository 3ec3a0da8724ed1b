#!/usr/bin/env bash
# Headless Chromium for the leaderboard's browser test: Debian's chromium package, installed
# when absent (root). Idempotent and quiet when it is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
echo "installing Chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
