"""Execute every chapter of the book, one kernel per CPU core, into the book's execution cache.

    python tools/execute_parallel.py

``jupyter-book build`` executes notebooks one after another. This runs them in parallel (jupyter-cache's
local-parallel executor, one process per core) and stores the results in ``_build/.jupyter_cache``, where the
build, in ``cache`` mode, picks them up. A notebook that fails here is not cached, so the build executes it
again and reports its error as usual. Prints each notebook's execution time.
"""

import sys
import time
from pathlib import Path

from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from book_toc import toc_docs  # noqa: E402


def main() -> int:
    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    notebooks = [ROOT / f"{doc}.ipynb" for doc in toc_docs(ROOT) if (ROOT / f"{doc}.ipynb").exists()]
    for path in notebooks:
        cache.add_nb_to_project(str(path))
    start = time.perf_counter()
    result = load_executor("local-parallel", cache).run_and_cache(timeout=120, allow_errors=False)
    wall = time.perf_counter() - start
    times = {record.uri: record.data.get("execution_seconds") for record in cache.list_cache_records()}
    for path in notebooks:
        seconds = times.get(str(path))
        shown = f"{seconds:7.1f} s" if seconds is not None else "  failed "
        print(f"  {shown}  {path.relative_to(ROOT)}")
    print(f"  {wall:7.1f} s  wall time for {len(notebooks)} notebooks "
          f"({len(result.succeeded)} executed, {len(result.errored) + len(result.excepted)} failed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
