"""The hub's blob container for payloads too big for a queue message or a table property.

Each blob holds one text, gzip-compressed; the queue message or table row that needed it
keeps only its name. Names start with a digest of the instance id (``blob_prefix``), so a
purge finds every blob of an instance, including those a lost commit left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import uuid
from collections.abc import Iterable

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from devhost.taskhub.azure.common import storage_errors

__all__ = ["BlobStore", "blob_prefix"]

# Compressing or expanding more than this runs on a thread, off the event loop.
_THREAD_BYTES = 256 * 1024
_CONTENT = ContentSettings(content_type="application/gzip")


def blob_prefix(instance_id: str) -> str:
    """The name prefix of every blob of ``instance_id``."""
    return hashlib.sha256(instance_id.encode("utf-8", "surrogatepass")).hexdigest()[:32] + "/"


def _pack(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8", "surrogatepass"), compresslevel=1)


def _unpack(data: bytes) -> str:
    return gzip.decompress(data).decode("utf-8", "surrogatepass")


class BlobStore:
    """One container of compressed texts."""

    def __init__(self, client: ContainerClient) -> None:
        self._client = client

    async def create(self) -> None:
        """Create the container if it does not exist."""
        with storage_errors("create blob container"), contextlib.suppress(ResourceExistsError):
            await self._client.create_container()

    @staticmethod
    def new_name(instance_id: str, kind: str) -> str:
        """A name no other write uses: a losing writer never overwrites a live blob."""
        return f"{blob_prefix(instance_id)}{kind}-{uuid.uuid4().hex}"

    async def put(self, name: str, text: str) -> None:
        """Store ``text`` under ``name``."""
        data = (await asyncio.to_thread(_pack, text) if len(text) > _THREAD_BYTES
                else _pack(text))
        with storage_errors("store large payload"):
            await self._client.upload_blob(name, data, overwrite=True,
                                           content_settings=_CONTENT)

    async def get(self, name: str) -> str | None:
        """The text stored under ``name``, or None when that blob is gone."""
        with storage_errors("read large payload"):
            try:
                stream = await self._client.download_blob(name)
                data = await stream.readall()
            except ResourceNotFoundError:
                return None
        return await asyncio.to_thread(_unpack, data) if len(data) > _THREAD_BYTES else (
            _unpack(data))

    async def delete(self, names: Iterable[str]) -> None:
        """Delete blobs; one already gone counts as deleted."""
        async def delete_one(name: str) -> None:
            with contextlib.suppress(ResourceNotFoundError):
                await self._client.delete_blob(name)

        with storage_errors("delete large payload"):
            await asyncio.gather(*(delete_one(name) for name in set(names)))

    async def delete_instance(self, instance_id: str) -> None:
        """Delete every blob of ``instance_id``."""
        await self.delete(await self.names(instance_id))

    async def names(self, instance_id: str) -> list[str]:
        """The names of the blobs kept for ``instance_id``."""
        with storage_errors("list large payloads"):
            return [blob.name async for blob in self._client.list_blobs(
                name_starts_with=blob_prefix(instance_id))]
