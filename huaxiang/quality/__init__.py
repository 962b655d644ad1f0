"""Quality gates: GX 1.x suites validated on small frames pushed down to the warehouse engine.

Pure logic, no Dagster imports (the wiring is `orchestration/checks.py`):

- `kinds`    frame kinds — parameterised SQL producing per-day aggregates, profiles, samples
             (DuckDB SQL, and a Spark dialect for the pieces that differ)
- `suites`   load and validate `expectations/*.yml` into dataclasses
- `frames`   run a suite's frames read-only on the engine (DuckDB, Spark) for a business-day window
- `validate` validate the frames with GX (imported lazily, one ephemeral context per process)
- `report`   markdown / one-line renderings of a result

Importing this package does not import Great Expectations.
"""

from huaxiang.quality.frames import Window, fallback_window, run_frames
from huaxiang.quality.suites import Suite, SuiteError, discover_suites, load_suite

__all__ = ["Suite", "SuiteError", "Window", "discover_suites", "fallback_window", "load_suite", "run_frames"]
