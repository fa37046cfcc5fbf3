"""A stand-alone OpenAI-compatible upstream for bench/llm_gateway.py: aiohttp.web on uvloop.

    python bench/llm_stub.py --port P [--latency-ms 0] [--jwks FILE]

`POST /v1/chat/completions` answers every (non-streamed) request with the same small,
realistic `chat.completion` (usage included) after a fixed latency; `PUT /_bench/latency`
with `{"ms": 50}` changes that latency, so one stub process serves every run of the bench;
`GET /jwks` serves FILE (the bench signs its gateway tokens with the matching key, and the
gateway fetches its keys here as it would from identity); `GET /healthz` answers 200.

The reply is serialized once: the stub should cost as little CPU as possible, since it
shares the machine with the servers under test and the load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import uvloop
from aiohttp import web

REPLY_TEXT = (
    "Paris is the capital of France. It is known for the Eiffel Tower, the Louvre and its "
    "cafés, and it has been the country's political and cultural centre for centuries."
)


def completion_body() -> bytes:
    """What gpt-4o-mini answers, in shape and size (ids and timestamps fixed)."""
    return json.dumps(
        {
            "id": "chatcmpl-BenchStub0000000000000000000",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": REPLY_TEXT,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 24,
                "completion_tokens": 33,
                "total_tokens": 57,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_bench0000",
        }
    ).encode()


def make_app(latency_ms: float, jwks: bytes | None) -> web.Application:
    state = {"latency": latency_ms / 1000}
    body = completion_body()

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        if state["latency"] > 0:
            await asyncio.sleep(state["latency"])
        return web.Response(body=body, content_type="application/json")

    async def set_latency(request: web.Request) -> web.Response:
        state["latency"] = float((await request.json())["ms"]) / 1000
        return web.json_response({"ms": state["latency"] * 1000})

    async def keys(_: web.Request) -> web.Response:
        if jwks is None:
            raise web.HTTPNotFound()
        return web.Response(body=jwks, content_type="application/json")

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_put("/_bench/latency", set_latency)
    app.router.add_get("/jwks", keys)
    app.router.add_get("/healthz", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jwks", type=Path, help="a JWKS document to serve at /jwks")
    args = parser.parse_args()
    jwks = args.jwks.read_bytes() if args.jwks else None
    app = make_app(args.latency_ms, jwks)
    # access_log=None: a log line per request would cost the stub more than the request
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
