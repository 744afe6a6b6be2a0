"""The generated PluginAPI client against a real grpcio server speaking the contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from mattermost_plugin_api import (
    HOOK_IDS,
    AsyncPluginAPI,
    ContractError,
    GoError,
    Hook,
    NotFoundError,
    PluginAPI,
    TransportError,
    models,
)
from mattermost_plugin_api._pb import api_pb2, common_pb2, model_pb2
from mattermost_plugin_api.models import dict_to_anymap

TOKEN = "secret-token"


class FakeServer:
    """A PluginAPI service with three methods, checking the token like the host does."""

    def __init__(self) -> None:
        self.upload_chunks: list[int] = []
        self.uploaded = b""
        self.upload_session: str = ""

    def _check(self, context: grpc.ServicerContext) -> None:
        if dict(context.invocation_metadata()).get("mm-plugin-token") != TOKEN:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or unknown mm-plugin-token")

    def get_user(self, request: api_pb2.GetUserRequest, context: grpc.ServicerContext) -> api_pb2.GetUserResponse:
        self._check(context)
        if request.user_id == "missing":
            params = dict_to_anymap({"UserId": "missing", "Attempt": 2**53 + 1})
            error = common_pb2.AppError(
                id="app.user.missing.app_error",
                message="user not found",
                detailed_error="no row",
                status_code=404,
                where="GetUser",
                params=params,
            )
            return api_pb2.GetUserResponse(app_error=error)
        return api_pb2.GetUserResponse(result=model_pb2.User(id=request.user_id, username="alice", is_bot=True))

    def kv_get(self, request: api_pb2.KVGetRequest, context: grpc.ServicerContext) -> api_pb2.KVGetResponse:
        self._check(context)
        return api_pb2.KVGetResponse(app_error=common_pb2.AppError(status_code=500, message=f"no {request.key}"))

    def upload_data(
        self, requests: Iterator[api_pb2.UploadDataRequest], context: grpc.ServicerContext
    ) -> api_pb2.UploadDataResponse:
        self._check(context)
        first = next(requests)
        self.upload_session = first.us.id
        for frame in requests:
            self.upload_chunks.append(len(frame.rd_chunk))
            self.uploaded += frame.rd_chunk
        if not self.uploaded:
            return api_pb2.UploadDataResponse(error=common_pb2.Error(code=1, message="EOF"))
        return api_pb2.UploadDataResponse(result=model_pb2.FileInfo(id="f" * 26, size=len(self.uploaded)))


def _unary(fn: Any, req: Any, resp: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=req.FromString, response_serializer=resp.SerializeToString
    )


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    handlers = {
        "GetUser": _unary(fake.get_user, api_pb2.GetUserRequest, api_pb2.GetUserResponse),
        "KVGet": _unary(fake.kv_get, api_pb2.KVGetRequest, api_pb2.KVGetResponse),
        "UploadData": grpc.stream_unary_rpc_method_handler(
            fake.upload_data,
            request_deserializer=api_pb2.UploadDataRequest.FromString,
            response_serializer=api_pb2.UploadDataResponse.SerializeToString,
        ),
    }
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    grpc_server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("mattermost.plugin.v1.PluginAPI", handlers),)
    )
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    yield fake, f"127.0.0.1:{port}"
    grpc_server.stop(None)


def test_typed_results(server: tuple[FakeServer, str]) -> None:
    _, target = server
    api = PluginAPI(target, TOKEN)
    user = api.get_user(user_id="u" * 26)
    assert isinstance(user, models.User)
    assert (user.id, user.username, user.is_bot) == ("u" * 26, "alice", True)


def test_app_error_maps_to_an_exception_by_status(server: tuple[FakeServer, str]) -> None:
    _, target = server
    api = PluginAPI(target, TOKEN)
    with pytest.raises(NotFoundError) as caught:
        api.get_user(user_id="missing")
    error = caught.value
    assert (error.status_code, error.id, error.detailed_error, error.where) == (
        404,
        "app.user.missing.app_error",
        "no row",
        "GetUser",
    )
    assert error.params == {"UserId": "missing", "Attempt": 2**53 + 1}
    assert error.method == "GetUser"


def test_go_error_and_stream_upload(server: tuple[FakeServer, str]) -> None:
    fake, target = server
    api = PluginAPI(target, TOKEN)
    payload = bytes(range(256)) * 800  # 200 KiB
    info = api.upload_data(us=models.UploadSession(id="s" * 26), rd=iter([payload[:1000], payload[1000:]]))
    assert info is not None and info.size == len(payload)
    assert fake.uploaded == payload
    assert fake.upload_session == "s" * 26
    assert max(fake.upload_chunks) <= 64 * 1024
    fake.uploaded = b""
    with pytest.raises(GoError) as caught:
        api.upload_data(us=None, rd=iter([]))
    assert caught.value.code == 1


def test_missing_token_and_dead_host_are_transport_errors(server: tuple[FakeServer, str]) -> None:
    _, target = server
    with pytest.raises(TransportError) as caught:
        PluginAPI(target, "wrong").get_user(user_id="u" * 26)
    assert "UNAUTHENTICATED" in caught.value.grpc_code
    with pytest.raises(TransportError):
        PluginAPI("127.0.0.1:1", TOKEN).get_server_version()


def test_hook_metadata() -> None:
    assert HOOK_IDS[Hook.MESSAGE_WILL_BE_POSTED] == 5
    assert Hook("ServeHTTP") is Hook.SERVE_HTTP
    assert len(HOOK_IDS) == len(Hook)


def test_async_client(server: tuple[FakeServer, str]) -> None:
    fake, target = server

    async def scenario() -> None:
        api = AsyncPluginAPI(target, TOKEN)
        user = await api.get_user(user_id="u" * 26)
        assert user is not None and user.username == "alice"
        with pytest.raises(NotFoundError):
            await api.get_user(user_id="missing")

        async def pieces() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"x" * 100_000

        info = await api.upload_data(us=None, rd=pieces())
        assert info is not None and info.size == 300_000
        assert max(fake.upload_chunks) <= 64 * 1024
        with pytest.raises(TransportError):
            await AsyncPluginAPI(target, "wrong").get_user(user_id="u" * 26)
        await api.close()

    asyncio.run(scenario())


def test_hook_specs_convert_requests_and_results() -> None:
    from mattermost_plugin_api import HOOK_SPECS
    from mattermost_plugin_api._pb import hooks_pb2

    spec = HOOK_SPECS[Hook.MESSAGE_WILL_BE_POSTED]
    assert [name for name, _ in spec.params] == ["context", "post"]
    assert spec.returns == "tuple[models.Post | None, str]"
    assert spec.args is not None and spec.response is not None
    # The server always sends both: typed without `None`, and their absence is a clear error.
    assert dict(spec.params) == {"context": "models.PluginContext", "post": "models.Post"}
    request = hooks_pb2.MessageWillBePostedRequest(
        context=common_pb2.PluginContext(request_id="r1"), post=model_pb2.Post(message="hi")
    )
    kwargs = spec.args(request)
    assert kwargs["context"] == models.PluginContext(request_id="r1")
    assert kwargs["post"] == models.Post(message="hi")
    with pytest.raises(ContractError, match="MessageWillBePosted: `context` is missing"):
        spec.args(hooks_pb2.MessageWillBePostedRequest(post=model_pb2.Post(message="hi")))
    # The acting user of a membership hook is nil when users join on their own.
    joined = HOOK_SPECS[Hook.USER_HAS_JOINED_CHANNEL]
    assert dict(joined.params)["actor"] == "models.User | None"
    response = spec.response((models.Post(message="HI"), "nope"))
    assert response == hooks_pb2.MessageWillBePostedResponse(
        replacement=model_pb2.Post(message="HI"), rejection_reason="nope"
    )

    activate = HOOK_SPECS[Hook.ON_ACTIVATE]
    assert (activate.params, activate.returns, activate.error) == ((), "None", "error")
    assert HOOK_SPECS[Hook.SERVE_HTTP].streaming and HOOK_SPECS[Hook.SERVE_HTTP].args is None
    assert set(HOOK_SPECS) == set(Hook)
