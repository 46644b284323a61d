#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium for the browser test (never a downloaded
# browser) and Debian's PostgreSQL for the Label Studio round trips on a PostgreSQL database.
# Both come from Debian 12 (bookworm): PostgreSQL at major version 15 (the package postgresql-15;
# Debian ships only its security updates within 15); Chromium at what bookworm's security updates
# ship (Debian keeps only the newest build, so an exact version would stop installing at the next
# update; the browser tests print the version they ran with).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} = 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${missing[*]}: run 'sudo apt-get install ${missing[*]}' and try again" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
