"""The python-socketio server that ferrio's suite `tests/python_peer.rs` talks to.

python-socketio's AsyncServer on its aiohttp driver (python-engineio's own asyncio web
server, with native websockets), versions pinned by requirements.txt and installed into
`.venv/` by the test support (tests/support/python_peer.rs). Run by hand with
`.venv/bin/python server.py [PORT] [--ping-interval=MS] [--ping-timeout=MS]`; it prints
`LISTENING <port>` once it accepts connections and exits when its stdin closes.

Handlers, on `/` and on `/foo` (every namespace has the same ones):
- `echo ...args`: emits `echo` back to the sender with the same arguments (binary too).
- `ack ...args`: acknowledges with the same arguments.
- `askForAck name`: emits `name` with an ack to the sender, then emits `ackAnswer` with what
  the client acknowledged.
- `seq n ...`: records `n` in the order received; `seqReport` acknowledges with the numbers
  received so far on that socket (the order test).
- `disconnectMe`: the server disconnects the socket (`io server disconnect`).
- `closeTransport`: the server closes the whole Engine.IO session (`transport close` on the
  client, which reconnects).
Namespace `/no` refuses every connection with message `refused` and data `{"reason": "no"}`.
Every connection attempt is logged as `CONNECT <namespace>` on stdout.
"""

import asyncio
import sys
import threading
import os

import socketio
from aiohttp import web


def option(name, default):
    for arg in sys.argv[1:]:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


port = int(next((a for a in sys.argv[1:] if not a.startswith("--")), "0"))
sio = socketio.AsyncServer(
    async_mode="aiohttp",
    cors_allowed_origins="*",
    ping_interval=int(option("ping-interval", "25000")) / 1000,
    ping_timeout=int(option("ping-timeout", "20000")) / 1000,
    namespaces=["/", "/foo", "/no"],
)
app = web.Application()
sio.attach(app)

received = {}  # (namespace, sid) -> [n, ...] for `seq`


def register(namespace):
    @sio.on("connect", namespace=namespace)
    async def connect(sid, environ, auth):
        print(f"CONNECT {namespace}", flush=True)
        received[(namespace, sid)] = []

    @sio.on("disconnect", namespace=namespace)
    async def disconnect(sid, reason):
        received.pop((namespace, sid), None)

    @sio.on("echo", namespace=namespace)
    async def echo(sid, *args):
        await sio.emit("echo", args if len(args) != 1 else args[0], to=sid, namespace=namespace)

    @sio.on("ack", namespace=namespace)
    async def ack(sid, *args):
        return args

    @sio.on("askForAck", namespace=namespace)
    async def ask_for_ack(sid, name):
        answer = await sio.call(name, "question", to=sid, namespace=namespace, timeout=10)
        await sio.emit("ackAnswer", answer, to=sid, namespace=namespace)

    @sio.on("seq", namespace=namespace)
    async def seq(sid, n, *padding):
        received.setdefault((namespace, sid), []).append(n)

    @sio.on("seqReport", namespace=namespace)
    async def seq_report(sid):
        return received.get((namespace, sid), [])

    @sio.on("disconnectMe", namespace=namespace)
    async def disconnect_me(sid):
        await sio.disconnect(sid, namespace=namespace)

    @sio.on("closeTransport", namespace=namespace)
    async def close_transport(sid):
        await sio.eio.disconnect(sio.manager.eio_sid_from_sid(sid, namespace))


register("/")
register("/foo")


@sio.on("connect", namespace="/no")
async def refuse(sid, environ, auth):
    print("CONNECT /no", flush=True)
    raise socketio.exceptions.ConnectionRefusedError("refused", {"reason": "no"})


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    print(f"LISTENING {bound}", flush=True)
    await asyncio.Event().wait()


threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
asyncio.run(main())
