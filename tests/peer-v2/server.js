"use strict";
// The socket.io 2.x peer of ferrio's legacy suite (tests/legacy_v2.rs): the official Node
// `socket.io` 2.x server (Engine.IO protocol 3, Socket.IO protocol 4; the version pinned in
// package.json / package-lock.json) with the handlers the suite needs. Modelled on
// tests/peer/server.js, and started by the same support (`PeerOptions::v2()`).
//
// Usage: node server.js [PORT] [--key=value ...]
//
// Options, as `--key=value` or environment variables (the command line wins):
//
//   PORT                       listening port (0 = any free port)
//   HOST                       listening address, default "127.0.0.1"
//   PATH_PREFIX                engine path, default "/socket.io"
//   PING_INTERVAL, PING_TIMEOUT, MAX_HTTP_BUFFER_SIZE, UPGRADE_TIMEOUT (ms/bytes)
//   TRANSPORTS                 "polling,websocket" (default), "websocket", "polling"
//   ALLOW_UPGRADES             "0" forbids the polling -> websocket upgrade
//   LOG_EVENTS                 "1" prints `EVENT <json>` on stdout for every event received
// (the 4.x peer's other options are accepted and ignored).
//
// Protocol on stdout: one line `LISTENING <port>` once ready; with LOG_EVENTS, one
// `EVENT {"nsp":..,"sid":..,"key":..,"event":..,"args":[..],"pid":..}` line per received event
// (binary arguments as {"$binary": "<hex>"}). `GET /peer-state` answers {pid, clients (open
// Engine.IO sessions), connections (sessions opened so far)}. The process exits when its stdin
// closes, and on SIGTERM / SIGINT.
//
// Handlers (every namespace):
//   echo(...args[, ack])       acks with the arguments, or emits `echo-back` with them
//   whoami(ack)                acks {id, nsp, query}: the socket's id and handshake query
//   askForAck(...args)         emits `ask` with the arguments and an ack callback; once the
//                              client acks, emits `answered` with what it acked
//   sendBinary()               emits `bin` with three attachments, two of them nested:
//                              ({a: <01 02 03>, nested: {b: <04 05>, list: ["x", <06>]}}, "tail")
//   disconnectMe()             the server disconnects this socket (a DISCONNECT packet)
//   closeMe()                  the server closes the engine connection (no DISCONNECT first)
//   garbage(text)              writes `text` as a raw Socket.IO packet (an Engine.IO message)
//   rawFrame(text | [bytes])   over the websocket only: writes one websocket message as it is
//                              (text, or binary from the byte values), below Engine.IO
//   stopPonging()              the engine stops answering this client's pings
// Namespaces: "/" (refuses a handshake whose query has `fail`), "/chat", "/bar",
// "/auth" (wants query token=secret), "/no" (always refused with a message),
// "/data-error" (refused with an error whose `data` is an object).

const http = require("http");
const socketio = require("socket.io");

const argv = process.argv.slice(2);
const cli = {};
for (const a of argv) {
  const m = /^--([A-Za-z0-9_-]+)=(.*)$/s.exec(a);
  if (m) {
    cli[m[1].toUpperCase().replace(/-/g, "_")] = m[2];
  } else if (/^\d+$/.test(a)) {
    cli.PORT = a;
  }
}
function opt(name, fallback) {
  if (cli[name] !== undefined) return cli[name];
  if (process.env[name] !== undefined && process.env[name] !== "") return process.env[name];
  return fallback;
}
function numOpt(name, fallback) {
  const v = opt(name, undefined);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`invalid ${name}: ${v}`);
    process.exit(2);
  }
  return n;
}

const port = numOpt("PORT", 0);
const host = opt("HOST", "127.0.0.1");
const logEvents = opt("LOG_EVENTS", "0") === "1";
const enginePath = opt("PATH_PREFIX", "/socket.io").replace(/\/$/, "");

const counters = { connections: 0 };

const httpServer = http.createServer((req, res) => {
  // engine.io answers its own path first; this sees the rest.
  if (new URL(req.url, "http://127.0.0.1").pathname === "/peer-state") {
    const body = JSON.stringify({ pid: process.pid, clients: io.engine.clientsCount, ...counters });
    // Not chunked: the support reads the body whole.
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = socketio(httpServer, {
  path: enginePath,
  serveClient: false,
  transports: opt("TRANSPORTS", "polling,websocket")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
  allowUpgrades: opt("ALLOW_UPGRADES", "1") !== "0",
  pingInterval: numOpt("PING_INTERVAL", 25000),
  pingTimeout: numOpt("PING_TIMEOUT", 5000),
  maxHttpBufferSize: numOpt("MAX_HTTP_BUFFER_SIZE", 1e6),
  upgradeTimeout: numOpt("UPGRADE_TIMEOUT", 10000),
  cookie: false,
});
io.engine.on("connection", () => {
  counters.connections += 1;
});

/** Replaces byte buffers by {"$binary": hex} so a test can see what arrived as real binary. */
function describe(v) {
  if (Buffer.isBuffer(v)) return { $binary: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(describe);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = describe(x);
    return out;
  }
  return v;
}

function splitAck(args) {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

function safe(fn) {
  return (...args) => {
    try {
      fn(...args);
    } catch (e) {
      console.error("handler error:", e && e.stack ? e.stack : e);
    }
  };
}

/** The handlers every namespace gets. */
function install(socket) {
  const nsp = socket.nsp;
  // socket.io 2 has no onAny: a socket middleware sees every event packet.
  socket.use((packet, next) => {
    if (logEvents) {
      const [args] = splitAck(packet.slice(1));
      process.stdout.write(
        "EVENT " +
          JSON.stringify({
            nsp: nsp.name,
            sid: socket.id,
            key: socket.id,
            event: packet[0],
            args: describe(args),
            pid: process.pid,
          }) +
          "\n",
      );
    }
    next();
  });
  const on = (event, fn) => socket.on(event, safe(fn));

  on("echo", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(...args);
    else socket.emit("echo-back", ...args);
  });
  on("whoami", (cb) => cb({ id: socket.id, nsp: nsp.name, query: socket.handshake.query }));
  on("askForAck", (...args) => {
    socket.emit("ask", ...args, (...answer) => socket.emit("answered", ...answer));
  });
  on("sendBinary", () => {
    socket.emit(
      "bin",
      {
        a: Buffer.from([1, 2, 3]),
        nested: { b: Buffer.from([4, 5]), list: ["x", Buffer.from([6])] },
      },
      "tail",
    );
  });
  on("disconnectMe", () => socket.disconnect());
  on("closeMe", () => socket.client.conn.close());
  on("garbage", (text) => socket.client.conn.write(String(text)));
  on("rawFrame", (data) => {
    const transport = socket.client.conn.transport;
    if (transport.name !== "websocket") return;
    transport.socket.send(Array.isArray(data) ? Buffer.from(data) : String(data));
  });
  on("stopPonging", () => {
    const conn = socket.client.conn;
    const send = conn.sendPacket.bind(conn);
    conn.sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
  });
}

io.use((socket, next) => {
  if (socket.handshake.query.fail) return next(new Error("Auth failed (main namespace)"));
  next();
});
io.on("connection", install);
for (const name of ["/chat", "/bar"]) io.of(name).on("connection", install);
io.of("/auth")
  .use((socket, next) => {
    if (socket.handshake.query.token === "secret") return next();
    next(new Error("not authorized"));
  })
  .on("connection", install);
io.of("/no").use((socket, next) => next(new Error("Auth failed (custom namespace)")));
io.of("/data-error").use((socket, next) => {
  const err = new Error("refused");
  err.data = { content: "Please retry later", code: 42 };
  next(err);
});

function shutdown(code) {
  process.exit(code);
}
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
process.stdin.on("end", () => shutdown(0));
process.stdin.on("close", () => shutdown(0));
process.stdin.on("error", () => shutdown(0));
process.stdin.resume();
process.on("uncaughtException", (e) => {
  console.error("uncaught exception:", e && e.stack ? e.stack : e);
});

let tries = 0;
httpServer.on("error", (e) => {
  if (e.code === "EADDRINUSE" && port !== 0 && tries++ < 100) {
    setTimeout(() => httpServer.listen(port, host), 50);
    return;
  }
  console.error("listen error:", e.message);
  process.exit(1);
});
httpServer.on("listening", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
httpServer.listen(port, host);
