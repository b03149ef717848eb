#!/bin/sh
# Copyright The twill Authors
# SPDX-License-Identifier: Apache-2.0
#
# Writes the result conversion goldens from Go's own libcni.
#
#   tools/golden-go/generate.sh [OUT_DIR]
#
# For every case directory under crates/cni/tests/fixtures/results (an input.json, and an
# optional `assume` file naming the version of an input without cniVersion) and every one of
# the seven versions, writes OUT_DIR/<case>/to-<version>.json (the converted result as a Go
# plugin prints it) or to-<version>.error (the conversion error). OUT_DIR defaults to the
# fixtures directory itself; check.sh points it elsewhere and diffs.
#
# libcni 1.1.2 (Debian's golang-github-appc-cni-dev) predates spec 1.1.0. The Go program reads
# a 1.1.0 input as 1.0.0 and relabels 1.0.0 output as 1.1.0, which is the spec's rule (1.1.0 is
# 1.0.0 plus optional fields). Only converting a 1.1.0 input to 1.0.0 or 1.1.0 keeps those
# fields, which libcni 1.1.2 cannot read; those two goldens are the input relabelled (the
# conversion is an identity), and check.sh proves them against Go with the fields removed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures="$repo/crates/cni/tests/fixtures/results"
out=${1:-$fixtures}
versions="0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"

bin=$(mktemp -d)/golden-go
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$here" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= go build -o "$bin" .)

for dir in "$fixtures"/*/; do
    case=$(basename "$dir")
    input="$dir/input.json"
    [ -f "$input" ] || continue
    mkdir -p "$out/$case"
    assume=""
    if [ -f "$dir/assume" ]; then
        assume="-assume=$(cat "$dir/assume")"
    fi
    for to in $versions; do
        rm -f "$out/$case/to-$to.json" "$out/$case/to-$to.error"
        if grep -q '^    "cniVersion": "1.1.0",$' "$input" && { [ "$to" = 1.0.0 ] || [ "$to" = 1.1.0 ]; }; then
            sed "s/^    \"cniVersion\": \"1.1.0\",\$/    \"cniVersion\": \"$to\",/" "$input" \
                >"$out/$case/to-$to.json"
            continue
        fi
        status=0
        # shellcheck disable=SC2086 # $assume is one word or none
        "$bin" $assume "$input" "$to" >"$out/$case/to-$to.tmp" || status=$?
        case $status in
        0) mv "$out/$case/to-$to.tmp" "$out/$case/to-$to.json" ;;
        2) sed 's/^error: //' "$out/$case/to-$to.tmp" >"$out/$case/to-$to.error"
           rm "$out/$case/to-$to.tmp" ;;
        *) echo "golden-go failed on $case -> $to" >&2; exit 1 ;;
        esac
    done
done
