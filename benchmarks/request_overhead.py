"""What request ids, metrics and the JSON access line cost per HTTP request (docs/observability.md, "Cost per request").

Serves 2,000 requests a run straight through ASGI (no sockets, no client) to one create_app() on a migrated SQLite file,
with the app's full stack (RequestId + Observe outside Starlette's) and without it (Starlette's own stack), interleaved
over 7 runs; prints the median CPU time per request of this process (the machine may be shared: CPU time drifts less
than wall time), then the same with the JSON access log written (to memory).

    .venv/bin/python -m benchmarks.request_overhead
"""

from __future__ import annotations

import asyncio
import io
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from scheduling import migrate
from web import logging_setup
from web.app import create_app
from web.settings import Settings

REQUESTS = 2000
RUNS = 7
PATHS = ("/livez", "/login")


async def _run(app: Any, path: str) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [(b"host", b"bench")],
             "client": ("127.0.0.1", 1), "server": ("bench", 80)}
    for _ in range(200):
        await app(dict(scope), receive, send)
    start = time.process_time()
    for _ in range(REQUESTS):
        await app(dict(scope), receive, send)
    return (time.process_time() - start) / REQUESTS * 1e6


async def main(database: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key="bench", metrics_token="bench"), background=False)
    async with app.router.lifespan_context(app):
        observed = app.build_middleware_stack()
        plain = Starlette.build_middleware_stack(app)
        root = logging.getLogger()
        logging_setup.lighten()  # as `fairmeet serve` does
        for path in PATHS:
            samples: dict[str, list[float]] = {"without": [], "with ids + metrics": [], "with ids + metrics + JSON access line": []}
            for _ in range(RUNS):
                app.middleware_stack = plain
                samples["without"].append(await _run(app, path))
                app.middleware_stack = observed
                samples["with ids + metrics"].append(await _run(app, path))
                handler = logging_setup.handler("json", io.StringIO())
                root.addHandler(handler)
                level = root.level
                root.setLevel(logging.INFO)
                try:
                    samples["with ids + metrics + JSON access line"].append(await _run(app, path))
                finally:
                    root.removeHandler(handler)
                    root.setLevel(level)
            base = statistics.median(samples["without"])
            for name, values in samples.items():
                median = statistics.median(values)
                print(f"{path:8} {name:40} {median:8.1f} us CPU/request  x{median / base:.3f}  (+{median - base:.1f} us)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        migrate.upgrade(f"sqlite+aiosqlite:///{db}")
        asyncio.run(main(db))
