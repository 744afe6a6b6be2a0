"""FileWillBeUploaded in the SDK: the file streams into the handler, a replacement streams out, and
the replacement info and rejection reason end the stream."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mattermost_plugin import Plugin, UploadWriter, hook
from mattermost_plugin.server import _upload
from mattermost_plugin_api import Hook, models
from mattermost_plugin_api._pb import hooks_pb2, model_pb2


class Uppercase(Plugin):
    @hook
    async def file_will_be_uploaded(
        self, info: models.FileInfo | None, file: AsyncIterator[bytes], output: UploadWriter
    ) -> tuple[models.FileInfo | None, str]:
        assert info is not None
        if info.name.endswith(".exe"):
            return None, "no executables"
        size = 0
        async for chunk in file:
            size += len(chunk)
            await output.write(chunk.upper())
        return dataclasses.replace(info, name="UPPER-" + info.name, size=size), ""


async def _frames(name: str, parts: list[bytes]) -> AsyncIterator[hooks_pb2.FileWillBeUploadedRequest]:
    yield hooks_pb2.FileWillBeUploadedRequest(info=model_pb2.FileInfo(name=name, size=9))
    for part in parts:
        yield hooks_pb2.FileWillBeUploadedRequest(file_chunk=part)
    yield hooks_pb2.FileWillBeUploadedRequest(file_complete=True)


def _run(name: str, parts: list[bytes]) -> list[hooks_pb2.FileWillBeUploadedResponse]:
    plugin = Uppercase()
    handler = _upload(plugin, plugin.file_will_be_uploaded)

    async def collect() -> list[Any]:
        return [frame async for frame in handler(_frames(name, parts), None)]

    return asyncio.run(collect())


def test_replacement_streams_out_and_ends_with_the_outcome() -> None:
    frames = _run("a.txt", [b"abc", b"def", b"ghi"])
    assert b"".join(f.output_chunk for f in frames) == b"ABCDEFGHI"
    last = frames[-1]
    assert last.complete and last.rejection_reason == ""
    assert (last.replacement.name, last.replacement.size) == ("UPPER-a.txt", 9)


def test_rejection() -> None:
    last = _run("virus.exe", [b"MZ"])[-1]
    assert last.complete and last.rejection_reason == "no executables"
    assert not last.HasField("replacement")


def test_handler_parameters_are_checked() -> None:
    assert Uppercase.hooks == {Hook.FILE_WILL_BE_UPLOADED: "file_will_be_uploaded"}
    with pytest.raises(TypeError, match="unknown parameter 'data'"):

        class Bad(Plugin):
            @hook
            async def file_will_be_uploaded(self, data: bytes) -> None:
                return None


class WrongUpload(Plugin):
    @hook
    async def file_will_be_uploaded(self, info: models.FileInfo | None) -> tuple[models.FileInfo | None, str]:
        return "renamed.txt", ""  # type: ignore[return-value]


def test_a_wrong_return_names_the_handler_and_what_the_hook_expects() -> None:
    plugin = WrongUpload()

    async def collect() -> list[Any]:
        return [f async for f in _upload(plugin, plugin.file_will_be_uploaded)(_frames("a.txt", [b"x"]), None)]

    last = asyncio.run(collect())[-1]
    assert last.complete and not last.HasField("replacement")
    assert last.rejection_reason == (
        "plugin error: WrongUpload.file_will_be_uploaded returned (str, str) for FileWillBeUploaded; "
        "the hook expects models.FileInfo | None, or (models.FileInfo | None, str)"
    )
