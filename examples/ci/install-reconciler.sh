#!/bin/sh
# Install the reconciler from a pinned, verified wheel: the file's SHA-256 must match before pip sees it.
#
#   usage: install-reconciler.sh WHEEL SHA256
#     WHEEL   an https:// URL or a path of the wheel your platform team built (`pip wheel . --no-deps` in the
#             reconciler's repository at a release tag) and published
#     SHA256  its checksum (`sha256sum reconciler-*.whl`), kept next to the pin in the CI file
#
# Never `pip install reconciler`: that name on PyPI belongs to an unrelated project.
set -eu

WHEEL=${1:?usage: install-reconciler.sh WHEEL SHA256}
SHA256=${2:?usage: install-reconciler.sh WHEEL SHA256}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
FILE="$DIR/$(basename "$WHEEL")"

case "$WHEEL" in
    https://*) curl --fail --silent --show-error --location --output "$FILE" "$WHEEL" ;;
    *://*) echo "install-reconciler.sh: $WHEEL: only https:// URLs or local paths are accepted" >&2; exit 1 ;;
    *) cp "$WHEEL" "$FILE" ;;
esac

if ! echo "$SHA256  $FILE" | sha256sum -c - >/dev/null 2>&1; then
    echo "install-reconciler.sh: $WHEEL does not have the SHA-256 $SHA256; refusing to install it" >&2
    echo "  (its SHA-256 is $(sha256sum "$FILE" | cut -d' ' -f1); update the pin only for a wheel you trust)" >&2
    exit 1
fi
pip install --quiet "$FILE"
reconciler version
