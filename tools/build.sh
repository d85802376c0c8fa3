#!/usr/bin/env bash
# Build the book from scratch into _build/html and check what a green Sphinx build does not:
# figures that were dropped, cells that raised, warnings printed into the pages.
#
#   bash tools/build.sh
#
# Installs requirements.txt first (set OPTIMLAB_SKIP_INSTALL=1 to skip that, as tools/test.sh does after
# installing them itself). Every notebook is executed (execution mode `force` on an empty _build), and any
# Sphinx warning fails the build (-W -n).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"

if [[ "${OPTIMLAB_SKIP_INSTALL:-0}" != "1" ]]; then
    echo "== installing requirements"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi

# With MPLBACKEND=Agg every figure is silently dropped (at best the page shows "<Figure size ...>"):
# let the kernel choose its inline backend, and make sure that it does.
unset MPLBACKEND
echo "== checking that a notebook kernel renders matplotlib figures"
"$PYTHON" - <<'PY'
import nbclient
import nbformat

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\nimport matplotlib\nprint(matplotlib.get_backend())")])
nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
outputs = nb.cells[0].outputs
if not any("image/png" in out.get("data", {}) for out in outputs):
    texts = " ".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    raise SystemExit(f"a notebook kernel here does not render figures (backend: {texts.strip() or '?'}); "
                     "check MPLBACKEND and matplotlibrc")
PY

echo "== executing every chapter, one kernel per core"
rm -rf _build
"$PYTHON" tools/execute_parallel.py

echo "== building the book (notebooks from the fresh execution cache; any that failed above run again here)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$SECONDS
set +e
# `jupyter-book build . -W -n --keep-going`, run by $PYTHON (so its kernels are $PYTHON too).
"$PYTHON" -c 'import sys; from jupyter_book.cli.main import main; sys.argv[0] = "jupyter-book"; main()' \
    build . -W -n --keep-going 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
build_seconds=$((SECONDS - start))
mkdir -p _build
cp "$log" _build/build.log

echo "== checking the built pages"
set +e
"$PYTHON" - "$status" <<'PY'
"""Checks on the built book; exits 1 with one line per problem."""
import json
import re
import sys
from pathlib import Path

build_status = int(sys.argv[1])
root = Path.cwd()
html = root / "_build" / "html"
executed = root / "_build" / "jupyter_execute"
problems = []


sys.path.insert(0, str(root / "tools"))
from book_toc import toc_docs  # noqa: E402

docs = toc_docs(root)
notebooks = [d for d in docs if (root / f"{d}.ipynb").exists()]

if build_status != 0:
    problems.append(f"jupyter-book exited with status {build_status} (warnings are errors; see above)")

for doc in docs:
    page = html / f"{doc}.html"
    if not page.exists():
        problems.append(f"{doc}: page {page.relative_to(root)} was not written")
        continue
    text = page.read_text(encoding="utf-8")
    if "&lt;Figure size" in text:
        problems.append(f"{doc}: a figure was dropped (the page shows '<Figure size ...>'; is MPLBACKEND set?)")
    if re.search(r'class="[^"]*\boutput traceback\b', text):
        problems.append(f"{doc}: the page shows a traceback")

warning_line = re.compile(r"^\S.*?\b\w*Warning: ", re.MULTILINE)
for doc in notebooks:
    path = executed / f"{doc}.ipynb"
    if not path.exists():
        problems.append(f"{doc}: no executed notebook at {path.relative_to(root)}")
        continue
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            where = f"{doc}, cell {index}"
            if out.get("output_type") == "error":
                problems.append(f"{where}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                stream = "".join(out.get("text", ""))
                if "Traceback (most recent call last)" in stream:
                    problems.append(f"{where}: a traceback was printed to stderr")
                elif warning_line.search(stream):
                    first = warning_line.search(stream).group(0).strip()
                    problems.append(f"{where}: a warning is printed into the page ({first} ...); "
                                    "fix its cause or silence that one warning")
            elif "text/plain" in out.get("data", {}) and "image/png" not in out.get("data", {}):
                plain = "".join(out["data"]["text/plain"])
                if plain.startswith("<Figure size"):
                    problems.append(f"{where}: a figure was dropped ('{plain.strip()}')")

reports = html / "reports"
for log in sorted(reports.rglob("*.err.log")) if reports.exists() else []:
    problems.append(f"execution error log {log.relative_to(root)}:\n"
                    + "\n".join("    " + re.sub(r"\x1b\[[0-9;]*m", "", line)
                              for line in log.read_text(encoding="utf-8").splitlines()[-15:]))

if problems:
    print(f"{len(problems)} problem(s) with the built book:")
    for problem in problems:
        print(f"  - {problem}")
    sys.exit(1)
print(f"ok: {len(docs)} page(s), {len(notebooks)} executed notebook(s); no dropped figures, errors or warnings")
PY
checks=$?
set -e

echo "== notebooks executed by the build itself (those that failed or changed after the parallel run)"
{ grep -aoE '[^ ]+\.ipynb: Executed notebook in [0-9.]+ seconds' _build/build.log \
    | sed -E 's|^.*/([^/]+\.ipynb): Executed notebook in ([0-9.]+) seconds|\2 \1|' \
    | sort -rn | awk '{ printf "  %7.1f s  %s\n", $1, $2; total += $1 } END { printf "  %7.1f s  total\n", total }'; } || true
echo "   build: ${build_seconds} s (log: _build/build.log)"

if [[ $checks -ne 0 ]]; then
    echo "BUILD FAILED" >&2
    exit 1
fi
echo "== book built: _build/html/index.html"
