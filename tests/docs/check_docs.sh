#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check_docs.sh [--update] GENERATOR PAGE [GENERATOR ARGUMENTS...]
# Compares PAGE with what GENERATOR prints now (exit 1 with a diff when they
# differ), or with --update rewrites PAGE.
set -euo pipefail
update=0
if [ "${1:-}" = --update ]; then
  update=1
  shift
fi
generator=${1:?usage: check_docs.sh [--update] GENERATOR PAGE}
page=${2:?usage: check_docs.sh [--update] GENERATOR PAGE}
shift 2
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
# A sanitizer build's plugin needs its runtime in the generator too; the
# generator is built in the same configuration, so it carries it.
"$generator" "$@" >"$fresh"
if [ "$update" = 1 ]; then
  cp "$fresh" "$page"
  echo "wrote $page"
  exit 0
fi
if ! diff -u "$page" "$fresh"; then
  echo "$page is out of date: run 'ninja -C build update-docs' and commit it" >&2
  exit 1
fi
echo "$page is up to date"
