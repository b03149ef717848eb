#!/bin/sh
# Copyright The twill Authors
# SPDX-License-Identifier: Apache-2.0
#
# Re-proves every result conversion golden against Go's libcni: rebuilds the Go program,
# regenerates all goldens into a scratch directory and diffs them byte for byte with the
# committed ones. The 1.1.0 → 1.0.0/1.1.0 goldens, which libcni 1.1.2 cannot produce (see
# generate.sh), are checked against Go's output for the same input read as 1.0.0, after
# removing the 1.1.0-only fields from the golden.
#
# Needs golang-go and golang-github-appc-cni-dev (Debian), and jq.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures="$repo/crates/cni/tests/fixtures/results"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$here/generate.sh" "$scratch"

status=0
if ! diff -r -x input.json -x assume -x README.md "$fixtures" "$scratch"; then
    echo "check.sh: goldens differ from what generate.sh writes now" >&2
    status=1
fi

bin="$scratch/golden-go"
(cd "$here" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= go build -o "$bin" .)
strip11='del(.interfaces[]?.mtu, .interfaces[]?.socketPath, .interfaces[]?.pciID,
             .routes[]?.mtu, .routes[]?.advmss, .routes[]?.priority,
             .routes[]?.table, .routes[]?.scope)'
for dir in "$fixtures"/*/; do
    input="$dir/input.json"
    grep -q '^    "cniVersion": "1.1.0",$' "$input" 2>/dev/null || continue
    for to in 1.0.0 1.1.0; do
        want=$(jq -S "$strip11" "$dir/to-$to.json")
        got=$("$bin" "$input" "$to" | jq -S .)
        if [ "$want" != "$got" ]; then
            echo "check.sh: $(basename "$dir")/to-$to.json minus 1.1.0 fields differs from Go:" >&2
            printf '%s\n' "$want" >"$scratch/want" && printf '%s\n' "$got" >"$scratch/got"
            diff "$scratch/want" "$scratch/got" >&2 || true
            status=1
        fi
    done
done

[ "$status" = 0 ] && echo "check.sh: every result golden matches Go's libcni"
exit "$status"
