#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: chromium (browser
# tests through Playwright), postgresql (DuckLake catalog), nginx (replica proxy), and
# mount and chattr (the store fault tests: a small tmpfs, a read-only bind mount, chattr +i).
# Runs apt-get only for what is missing; needs root (CI runs as root).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v mount >/dev/null 2>&1 || missing+=(mount)
command -v chattr >/dev/null 2>&1 || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing system packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "installing system packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
fi
