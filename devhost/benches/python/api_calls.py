"""API calls Python → host: `get_user` through the generated clients against raw grpcio calls.

Run by the python_sdk bench as `api_calls.py <user id>` with the host's `MM_PLUGIN_API_ADDR` and
`MM_PLUGIN_API_TOKEN`, like a plugin process. Subject: `PluginAPI.get_user` (sync) and
`AsyncPluginAPI.get_user` (asyncio). Baseline: the same unary RPC as a bare grpcio / grpc.aio call
on its own channel, with the same target, channel options and token. Prints per-call medians and
p90s (and p99, min, max) in µs as one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable

import grpc

from mattermost_plugin_api import AsyncPluginAPI, PluginAPI
from mattermost_plugin_api._pb import api_pb2
from mattermost_plugin_api.client import channel_options
from mattermost_plugin_api.protocol import API_TOKEN_METADATA, ENV_API_ADDR, ENV_API_TOKEN

METHOD = "/mattermost.plugin.v1.PluginAPI/GetUser"
# Subject and baseline alternate in blocks so machine noise hits both alike; `--quick` (the
# bench's smoke run under `cargo test`) measures a token amount.
QUICK = "--quick" in sys.argv[2:]
WARMUP = 5 if QUICK else 500
ROUNDS = 2 if QUICK else 20
BLOCK = 5 if QUICK else 200


def summary(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {
        "median": ordered[len(ordered) // 2] / 1000,
        "p90": ordered[len(ordered) * 9 // 10] / 1000,
        "p99": ordered[min(len(ordered) - 1, round((len(ordered) - 1) * 0.99))] / 1000,
        "min": ordered[0] / 1000,
        "max": ordered[-1] / 1000,
        "samples": len(ordered),
    }


def measure(subject: Callable[[], object], baseline: Callable[[], object]) -> dict[str, dict[str, float]]:
    for _ in range(WARMUP):
        subject()
        baseline()
    samples: dict[str, list[int]] = {"sdk": [], "raw": []}
    for round_ in range(ROUNDS):
        order = [("sdk", subject), ("raw", baseline)]
        for name, fn in order if round_ % 2 == 0 else reversed(order):
            into = samples[name]
            for _ in range(BLOCK):
                start = time.perf_counter_ns()
                fn()
                into.append(time.perf_counter_ns() - start)
    return {name: summary(s) for name, s in samples.items()}


async def measure_async(
    subject: Callable[[], Awaitable[object]], baseline: Callable[[], Awaitable[object]]
) -> dict[str, dict[str, float]]:
    for _ in range(WARMUP):
        await subject()
        await baseline()
    samples: dict[str, list[int]] = {"sdk": [], "raw": []}
    for round_ in range(ROUNDS):
        order = [("sdk", subject), ("raw", baseline)]
        for name, fn in order if round_ % 2 == 0 else reversed(order):
            into = samples[name]
            for _ in range(BLOCK):
                start = time.perf_counter_ns()
                await fn()
                into.append(time.perf_counter_ns() - start)
    return {name: summary(s) for name, s in samples.items()}


def sync_figures(target: str, token: str, user_id: str) -> dict[str, dict[str, float]]:
    api = PluginAPI(target, token)
    channel = grpc.insecure_channel(target, options=channel_options())
    stub = channel.unary_unary(
        METHOD,
        request_serializer=api_pb2.GetUserRequest.SerializeToString,
        response_deserializer=api_pb2.GetUserResponse.FromString,
    )
    metadata = ((API_TOKEN_METADATA, token),)

    def sdk() -> object:
        return api.get_user(user_id=user_id)

    def raw() -> api_pb2.GetUserResponse:
        return stub(api_pb2.GetUserRequest(user_id=user_id), metadata=metadata)

    user = api.get_user(user_id=user_id)
    response = raw()
    if user is None or user.id != user_id or response.result.id != user_id:
        sys.exit(f"GetUser did not return user {user_id}")
    try:
        return measure(sdk, raw)
    finally:
        api.close()
        channel.close()


async def async_figures(target: str, token: str, user_id: str) -> dict[str, dict[str, float]]:
    api = AsyncPluginAPI(target, token)
    channel = grpc.aio.insecure_channel(target, options=channel_options())
    stub = channel.unary_unary(
        METHOD,
        request_serializer=api_pb2.GetUserRequest.SerializeToString,
        response_deserializer=api_pb2.GetUserResponse.FromString,
    )
    metadata = ((API_TOKEN_METADATA, token),)

    async def sdk() -> object:
        return await api.get_user(user_id=user_id)

    async def raw() -> api_pb2.GetUserResponse:
        return await stub(api_pb2.GetUserRequest(user_id=user_id), metadata=metadata)

    user = await api.get_user(user_id=user_id)
    response = await raw()
    if user is None or user.id != user_id or response.result.id != user_id:
        sys.exit(f"GetUser did not return user {user_id}")
    try:
        return await measure_async(sdk, raw)
    finally:
        await api.close()
        await channel.close()


def main() -> None:
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--quick"]):
        sys.exit(f"usage: {sys.argv[0]} <user id> [--quick] (with {ENV_API_ADDR} and {ENV_API_TOKEN} set)")
    target = os.environ[ENV_API_ADDR]
    token = os.environ[ENV_API_TOKEN]
    figures = {
        "sync": sync_figures(target, token, sys.argv[1]),
        "async": asyncio.run(async_figures(target, token, sys.argv[1])),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
