#!/usr/bin/env bash
# Every check of the course, as CI runs it:
#
#   bash tools/test.sh
#
# 1. installs requirements.txt (and Debian's chromium when /usr/bin/chromium is missing, bubblewrap when bwrap is);
# 2. builds the book from scratch with tools/build.sh (every notebook executed once, warnings are errors);
# 3. runs pytest over tests/: the package's unit tests, the notebook hygiene checks, and the browser test of the
#    built pages (with OPTIMLAB_REQUIRE_BOOK=1, so a missing book or browser fails instead of skipping).
# Extra arguments go to pytest, e.g. `bash tools/test.sh -x -k browser`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"
start=$SECONDS

echo "== installing requirements"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements.txt

if [[ ! -x /usr/bin/chromium ]]; then
    echo "== installing chromium (Debian package) for the browser test"
    sudo=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi

if ! command -v bwrap >/dev/null; then
    echo "== installing bubblewrap (Debian package) for the grader's sandbox"
    sudo=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq bubblewrap
fi
install_seconds=$((SECONDS - start))

build_start=$SECONDS
OPTIMLAB_SKIP_INSTALL=1 PYTHON="$PYTHON" bash tools/build.sh
build_seconds=$((SECONDS - build_start))

echo "== running the tests"
test_start=$SECONDS
set +e
OPTIMLAB_REQUIRE_BOOK=1 "$PYTHON" -m pytest tests "$@"
status=$?
set -e
test_seconds=$((SECONDS - test_start))

echo "== screenshots of every page: _build/screenshots/"
echo "== times: install ${install_seconds} s, build ${build_seconds} s, tests ${test_seconds} s, total $((SECONDS - start)) s"
exit $status
