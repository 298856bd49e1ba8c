"""A data provider backed by TensorBoard's Rust data server, loaded completely once.

TensorBoard serves a logdir with its Rust data server (``tensorboard-data-server``)
by default; the Green tab then reads through that provider. This module starts
the same server binary for the CLI and waits until its single load cycle has
finished, so an export never sees a half-loaded logdir. TensorBoard's own
``SubprocessServerDataIngester`` answers as soon as the port is open, while the
server is still reading, which is fine for a live UI but not for an export.

Records are then read through :func:`greenops_tb.readers.events.read_runs`, the
same function the plugin uses.
"""
from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from greenops_tb.errors import DataServerError as DataServerError
from greenops_tb.format.tags import PLUGIN_NAME

log = logging.getLogger(__name__)

_LOADED_MARK = "Finished load cycle"
_MAX_MESSAGE = 1024 * 1024 * 1024  # one run's records come back in one gRPC message


def available() -> bool:
    """True when the ``tensorboard-data-server`` binary is installed."""
    from tensorboard.data import server_ingester

    try:
        server_ingester.get_server_binary()
    except server_ingester.NoDataServerError:
        return False
    return True


def _drain(stream: Any, loaded: threading.Event, tail: list[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        tail[:] = (tail + [line])[-20:]
        if _LOADED_MARK in line:
            loaded.set()
    loaded.set()  # the server exited: stop waiting, the caller checks why


@contextlib.contextmanager
def server_provider(logdir: str | Path, *, timeout_s: float = 3600.0) -> Iterator[Any]:
    """A ``GrpcDataProvider`` over ``logdir`` once the server has loaded all of it; stops the server on exit."""
    import grpc
    from tensorboard.data import grpc_provider, server_ingester
    from tensorboard.data.proto import data_provider_pb2_grpc

    try:
        binary = server_ingester.get_server_binary()
    except server_ingester.NoDataServerError as err:
        raise DataServerError(f"{err}; install tensorboard-data-server or use the python loader") from err
    with tempfile.TemporaryDirectory(prefix="greenops_data_server_") as tmp:
        port_file = Path(tmp) / "port"
        args = [
            binary.path,
            f"--logdir={Path(logdir).expanduser()}",
            "--reload=once",
            f"--samples-per-plugin={PLUGIN_NAME}=all",
            "--port=0",
            f"--port-file={port_file}",
            "--die-after-stdin",
            "--verbose",  # info level: logs the end of the load cycle we wait for
        ]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        loaded = threading.Event()
        tail: list[str] = []
        threading.Thread(target=_drain, args=(proc.stderr, loaded, tail), name="greenops-data-server", daemon=True).start()
        try:
            if not loaded.wait(timeout_s) or proc.poll() is not None:
                raise DataServerError(f"TensorBoard data server did not finish loading {logdir}: {' | '.join(tail[-3:])}")
            deadline = time.monotonic() + 10.0
            while not port_file.exists() or not port_file.read_text().endswith("\n"):
                if time.monotonic() > deadline:
                    raise DataServerError("TensorBoard data server wrote no port file")
                time.sleep(0.01)
            addr = f"localhost:{int(port_file.read_text())}"
            creds, options = _local_channel_config()
            options.append(("grpc.max_receive_message_length", _MAX_MESSAGE))
            channel = grpc.secure_channel(addr, creds, options=options)
            stub = data_provider_pb2_grpc.TensorBoardDataProviderStub(channel)
            try:
                yield grpc_provider.GrpcDataProvider(addr, stub)
            finally:
                channel.close()
        finally:
            assert proc.stdin is not None
            proc.stdin.close()  # --die-after-stdin: the server exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _local_channel_config() -> tuple[Any, list[tuple[str, Any]]]:
    """Local (same host) channel credentials, as TensorBoard uses for its own data server."""
    from tensorboard.util import grpc_util

    creds, options = grpc_util.ChannelCredsType.LOCAL.channel_config()
    return creds, list(options)
