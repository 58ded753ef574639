#!/usr/bin/env sh
# Builds gcore-credential-helper and installs it into $PREFIX/bin (default
# ~/.local/bin). Linux builds are static. Safe to run again: it replaces the
# binary and prints what it did.
set -eu

cd "$(dirname "$0")"
prefix=${PREFIX:-"$HOME/.local"}
bindir="$prefix/bin"
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

case "$(go env GOOS)" in
  darwin) cgo=1 ;;  # the Keychain backend needs cgo
  *) cgo=0 ;;
esac

mkdir -p "$bindir"
tmp="$bindir/.gcore-credential-helper.tmp.$$"
trap 'rm -f "$tmp"' EXIT
CGO_ENABLED=$cgo go build -trimpath \
  -ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
  -o "$tmp" ./cmd/gcore-credential-helper
mv -f "$tmp" "$bindir/gcore-credential-helper"
echo "installed $bindir/gcore-credential-helper ($version, CGO_ENABLED=$cgo)"

# Personas: docker and git find helpers by these names and speak only their
# own protocol to them.
for persona in docker-credential-gcore git-credential-gcore; do
  ln -sfn gcore-credential-helper "$bindir/$persona"
  echo "linked $bindir/$persona -> gcore-credential-helper"
done

case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "note: $bindir is not on your PATH; add it to use the helper by name" ;;
esac
