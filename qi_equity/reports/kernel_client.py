"""The kernel client report notebooks run with (papermill -> nbclient, on a warm kernel).

An asyncio client, so that nbclient's cell timeout and dead-kernel check keep running while it
waits for a reply (a blocking client stalls nbclient's event loop in ``get_msg``).

Its handshake (``wait_for_ready``) is jupyter_client's without the final step: after a
``kernel_info`` reply and one IOPub message prove both channels are connected, jupyter_client
goes on reading IOPub until it has been quiet for 0.2 s, to drop messages left by earlier
requests. That costs 0.2 s per notebook and buys nothing here: nbclient reads only the replies
and outputs of its own requests (by parent message id) and skips anything else.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient


class ReportKernelClient(AsyncKernelClient):
    """:class:`~jupyter_client.asynchronous.AsyncKernelClient` with a handshake that returns as
    soon as the kernel has answered on the shell and IOPub channels."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["parent_header"].get("msg_id") == msg_id:
                try:  # the request's busy/idle status: IOPub is subscribed
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # not yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
