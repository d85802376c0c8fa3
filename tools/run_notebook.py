"""Execute notebooks in a fresh kernel, as the book build does, and print how long each took.

    python tools/run_notebook.py chapters/gradient_descent.ipynb [more.ipynb ...]

Exits non-zero if a cell fails. Cells tagged ``skip-execution`` are skipped, like in the book.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(Path(path).parent)}}).execute()
            status = "ok"
        except Exception as exc:  # report every notebook, then fail
            status, failed = f"FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", failed + 1
        print(f"{time.perf_counter() - start:6.1f} s  {path}  {status}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
