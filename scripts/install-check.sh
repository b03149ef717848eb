#!/usr/bin/env bash
# Proves `make install PREFIX=… CNI_BIN_DIR=…`: installs into a scratch directory and checks
# that the CLI runs and every plugin name is there and answers VERSION as a CNI plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
make -s install PREFIX="$scratch/prefix" CNI_BIN_DIR="$scratch/cni" >/dev/null
names=$("$scratch/cni/twill-cni" --list)
[ -n "$names" ] || { echo "install-check: no plugin names" >&2; exit 1; }
for name in $names; do
    out=$(env -i CNI_COMMAND=VERSION "$scratch/cni/$name" </dev/null)
    case "$out" in
        *'"supportedVersions"'*) ;;
        *) echo "install-check: $name answered VERSION with: $out" >&2; exit 1 ;;
    esac
done
"$scratch/prefix/bin/twill" --help >/dev/null || { echo "install-check: twill --help failed" >&2; exit 1; }
"$scratch/prefix/bin/twilld" --help >/dev/null || { echo "install-check: twilld --help failed" >&2; exit 1; }
echo "install-check: twill, twilld and $(echo $names | wc -w) plugins installed, each answering"
