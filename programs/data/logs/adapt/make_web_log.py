"""Make a real, non-ML log for the "adapt it to your own logs" example: a web service's access/error log.

    python programs/data/logs/adapt/make_web_log.py      # writes web.log next to this file (~20 s)

A real uvicorn server (starlette app) on a loopback port, real HTTP requests from httpx, captured
as ``uvicorn ... > web.log 2>&1`` writes it: access lines with status codes, a handler that crashes
(uvicorn prints the traceback), a slow endpoint, a dependency that times out. Nothing is faked in the
log: every line is what uvicorn and Python printed.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

APP = '''
import asyncio, logging
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
log = logging.getLogger("shop")

async def items(request):
    return JSONResponse({"id": int(request.path_params["n"]), "name": "widget"})

async def missing(request):
    return PlainTextResponse("not found", status_code=404)

async def checkout(request):
    cart = request.query_params.get("cart", "")
    if cart == "bad":
        raise KeyError("payment_method")
    return JSONResponse({"ok": True})

async def report(request):
    await asyncio.sleep(0.3)
    log.warning("slow query: /report took 312 ms (threshold 250 ms)")
    return JSONResponse({"rows": 10})

async def inventory(request):
    log.error("inventory service timed out after 2.0 s; returning 503")
    return PlainTextResponse("upstream timeout", status_code=503)

app = Starlette(routes=[Route("/items/{n:int}", items), Route("/checkout", checkout, methods=["GET", "POST"]), Route("/report", report),
                        Route("/inventory", inventory), Route("/old-page", missing)])
'''


def main() -> int:
    out = HERE / "web.log"
    app_dir = HERE / ".app"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "shopapp.py").write_text(APP)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(app_dir), "PYTHONUNBUFFERED": "1"}
    with open(out, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "shopapp:app", "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            import httpx

            r = random.Random(7)
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/items/1", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=5) as client:
                for i in range(60):  # bounded: 60 requests to our own loopback server
                    pick = r.random()
                    if pick < 0.55:
                        client.get(f"/items/{r.randint(1, 999)}")
                    elif pick < 0.65:
                        client.get("/old-page")
                    elif pick < 0.75:
                        client.post("/checkout?cart=ok")
                    elif pick < 0.83:
                        client.get("/report")
                    elif pick < 0.91:
                        client.get("/inventory")
                    else:
                        client.post("/checkout?cart=bad")
        finally:
            server.terminate()
            server.wait(timeout=10)
    (app_dir / "shopapp.py").unlink()
    app_dir.rmdir()
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
