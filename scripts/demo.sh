#!/usr/bin/env bash
# make demo: the token engine against the bundled fake Gcore IAM, in a
# throw-away home directory. Shows login, cache hits that make no IAM call, and
# exactly one refresh once the access token goes stale.
set -euo pipefail
bin=${1:-bin}
helper="$bin/gcore-credential-helper"
work=$(mktemp -d)
trap 'kill $fake_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# Access tokens live 12 s here (1 h at Gcore) and min_ttl is 5 s, so a token
# goes stale 7 s after it is issued.
"$bin/fake-gcore-iam" --access-ttl 12s --url-file "$work/url" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(cat "$work/url")

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache" \
  XDG_DATA_HOME="$work/home/.local/share" DBUS_SESSION_BUS_ADDRESS=disabled: \
  GCORE_KEYRING_PASSPHRASE=demo-store-passphrase
unset GCORE_PROFILE GCORE_CREDENTIAL_HELPER_CONFIG GCORE_BASE_URL GCORE_PASSWORD GCORE_API_TOKEN GCORE_API_KEY
mkdir -p "$XDG_CONFIG_HOME/gcore-credential-helper"
cat >"$XDG_CONFIG_HOME/gcore-credential-helper/config.toml" <<TOML
[profiles.default]
base_url = "$url"
username = "demo@example.com"
backend = "file"
min_ttl = "5s"
TOML
chmod 600 "$XDG_CONFIG_HOME/gcore-credential-helper/config.toml"

calls() { curl -fsS "$url/_fake/stats" | sed 's/.*"calls":{\([^}]*\)}.*/\1/' | tr ',' '\n' | grep -E '"(login|refresh)"' | tr '\n' ' '; echo; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
short() { cut -c1-24 | sed 's/$/…/'; }

step "fake Gcore IAM at $url; IAM calls so far:"; calls
step "login (password from GCORE_PASSWORD; a terminal would be asked otherwise)"
GCORE_PASSWORD=demo-password "$helper" login
calls
step "get: served from the encrypted store"
"$helper" get --format token | short
calls
step "get again: a cache hit, still no new IAM call"
time "$helper" get --format header | short
calls
step "status"
"$helper" status
step "wait 8 s: the access token now has less than min_ttl left"
sleep 8
step "get: exactly one refresh, then hits again"
"$helper" get --format token | short
"$helper" get --format token | short
calls
