"""The baseline of the hook round trip: go-plugin's gRPC protocol served by grpc.aio with no SDK.

It answers MessageWillBePosted with the post it received on the baselines' bare server
(`_raw_plugin.py`), so the gap to `sdk_plugin.py` is the SDK's own cost.
"""

from __future__ import annotations

import asyncio
import os
import sys

import grpc
from _raw_plugin import Context, serve

from mattermost_plugin_api._pb import hooks_pb2
from mattermost_plugin_api.protocol import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE


async def message_will_be_posted(
    request: hooks_pb2.MessageWillBePostedRequest, context: Context
) -> hooks_pb2.MessageWillBePostedResponse:
    return hooks_pb2.MessageWillBePostedResponse(replacement=request.post)


HOOKS = {
    "MessageWillBePosted": grpc.unary_unary_rpc_method_handler(
        message_will_be_posted,
        request_deserializer=hooks_pb2.MessageWillBePostedRequest.FromString,
        response_serializer=hooks_pb2.MessageWillBePostedResponse.SerializeToString,
    ),
}


if __name__ == "__main__":
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.exit("raw_echo.py is a benchmark plugin: the python_sdk bench starts it")
    asyncio.run(serve(HOOKS))
