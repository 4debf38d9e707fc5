"use strict";
// The reference peer of ferrio's end-to-end suites: the official Node `socket.io` server (the
// version pinned in package.json / package-lock.json) with the handlers the suites need.
//
// Usage: node server.js [PORT] [--key=value ...]
//
// Every option can be given as `--key=value` (e.g. `--ping-interval=300`) or as an environment
// variable (`PING_INTERVAL=300`); the command line wins. PORT 0 (the default) picks a free port.
//
//   PORT                       listening port (0 = any free port)
//   HOST                       listening address, default "127.0.0.1" (e.g. "::1" for IPv6)
//   PATH_PREFIX                engine path, default "/socket.io/"
//   TLS_CERT, TLS_KEY          PEM files: serve HTTPS / WSS instead of HTTP / WS
//   TLS_CA                     PEM file (with TLS_CERT/TLS_KEY): mutual TLS, every client must
//                              present a certificate signed by this CA (Node's `requestCert`
//                              and `rejectUnauthorized`); others fail the TLS handshake
//   PING_INTERVAL, PING_TIMEOUT, MAX_HTTP_BUFFER_SIZE, CONNECT_TIMEOUT, UPGRADE_TIMEOUT (ms/bytes)
//   TRANSPORTS                 "polling,websocket" (default), "websocket", "polling"
//   ALLOW_UPGRADES             "0" forbids the polling -> websocket upgrade
//   COOKIE                     engine `cookie` option: the cookie's name (sticky sessions)
//   RECOVERY                   "1" enables connectionStateRecovery (server-wide: every namespace)
//   RECOVERY_DURATION          its maxDisconnectionDuration in ms (default 120000)
//   RECOVERY_SKIP_MIDDLEWARES  "0" runs the middlewares again on a recovered connection
//   ALLOW_REQUEST_DELAY        delay every engine request (handshake included) by N ms
//   LOG_EVENTS                 "1" prints `EVENT <json>` on stdout for every event received
//   PARSER                     "msgpack": the official msgpack parser (socket.io-msgpack-parser)
//                              instead of the default one
//   MODULES                    the folder whose node_modules the server's packages come from
//                              (default: this file's folder); `tests/peer-v3` runs this same
//                              server on socket.io 3.x. Handlers a 3.x server lacks the API for
//                              (`socket.timeout()`, `disconnectSockets()`) fall back to the
//                              equivalent by hand.
//
// Protocol on stdout: one line `LISTENING <port>` once ready; with LOG_EVENTS, one
// `EVENT {"nsp":..,"sid":..,"key":..,"event":..,"args":[..],"pid":..}` line per received event
// (binary arguments described as {"$binary": "<hex>"}; `pid` is this process's id, so the
// lines of a restarted server can be told from those of the one before). Everything else goes
// to stderr.
//
// Outside the engine path, `GET /peer-state` answers (plain HTTP, no engine involved) with the
// server's own counters as JSON: {pid, clients: io.engine.clientsCount (open Engine.IO
// sessions), handshakes: engine requests without a `sid` seen so far (polling handshakes and
// direct websocket opens, counted when the request arrives, before `allowRequest`),
// handshakeTransports: [transport of each handshake], requests: every engine request so far
// (polls, posts, upgrades, handshakes), connections: Engine.IO sessions opened so far,
// released: handshakes that ALLOW_REQUEST_DELAY held and then let through (so with a delay,
// `released == handshakes` means no handshake is still held), socketIo: the socket.io version
// that runs, parser: "default" or "msgpack"}.
// The process exits when its stdin closes (so a dead test never leaves it behind), and on
// SIGTERM / SIGINT.

const http = require("http");

// ---------------------------------------------------------------------------------------------
// configuration

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

// The packages, from MODULES' node_modules: `require` alone would resolve them from this
// file's folder whatever the folder that runs it.
const modules = opt("MODULES", __dirname);
const load = (name) => require(require.resolve(name, { paths: [modules] }));
const { Server } = load("socket.io");
// The socket.io version that runs (its package.json is not exported in every version).
const socketIoVersion = JSON.parse(
  require("fs").readFileSync(
    require("path").join(require.resolve("socket.io", { paths: [modules] }), "../../package.json"),
    "utf8",
  ),
).version;

const port = numOpt("PORT", 0);
const host = opt("HOST", "127.0.0.1");
const recovery = opt("RECOVERY", "0") === "1";
const logEvents = opt("LOG_EVENTS", "0") === "1";
const allowRequestDelay = numOpt("ALLOW_REQUEST_DELAY", 0);

const serverOptions = {
  path: opt("PATH_PREFIX", "/socket.io/"),
  transports: opt("TRANSPORTS", "polling,websocket")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
  allowUpgrades: opt("ALLOW_UPGRADES", "1") !== "0",
  pingInterval: numOpt("PING_INTERVAL", 25000),
  pingTimeout: numOpt("PING_TIMEOUT", 20000),
  maxHttpBufferSize: numOpt("MAX_HTTP_BUFFER_SIZE", 1e6),
  connectTimeout: numOpt("CONNECT_TIMEOUT", 45000),
  upgradeTimeout: numOpt("UPGRADE_TIMEOUT", 10000),
  cors: { origin: "*" },
};
const cookieName = opt("COOKIE", "");
if (cookieName) {
  serverOptions.cookie = { name: cookieName, path: "/", httpOnly: true, sameSite: "lax" };
}
if (opt("PARSER", "default") === "msgpack") {
  serverOptions.parser = load("socket.io-msgpack-parser");
}
if (recovery) {
  serverOptions.connectionStateRecovery = {
    maxDisconnectionDuration: numOpt("RECOVERY_DURATION", 120000),
    skipMiddlewares: opt("RECOVERY_SKIP_MIDDLEWARES", "1") !== "0",
  };
}
if (allowRequestDelay > 0) {
  serverOptions.allowRequest = (req, callback) => {
    setTimeout(() => {
      if (!/[?&]sid=/.test(req.url)) counters.released += 1;
      callback(null, true);
    }, allowRequestDelay);
  };
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Replaces byte buffers by {"$binary": hex} so a test can see what arrived as real binary. */
function describe(v) {
  if (Buffer.isBuffer(v)) return { $binary: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) {
    return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(describe);
  if (v instanceof Date) return v.toISOString();
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = describe(x);
    return out;
  }
  return v;
}

/** Splits a listener's arguments into (args, ack callback or null). */
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

// Per-key statistics of received events. The key is the `statsKey` from the handshake's query
// or auth (so it survives reconnections), else the socket id.
const stats = new Map();
function statsKeyOf(socket) {
  const h = socket.handshake;
  return String((h.auth && h.auth.statsKey) || (h.query && h.query.statsKey) || socket.id);
}
function statsFor(key) {
  let s = stats.get(key);
  if (!s) {
    s = { events: {}, received: [], nums: [] };
    stats.set(key, s);
  }
  return s;
}

// Raw Socket.IO packets (Engine.IO message payloads) received per engine connection, in order.
// Binary frames are logged as "<binary N>". Kept for the last 500 connections, 5000 per conn.
const rawLogs = new Map();
const RAW_PER_CONN = 5000;

// HTTP requests per engine id (after the handshake), for cookie / header / transport checks.
const requestLogs = new Map();
const disconnectLogs = new Map();
// The counters of `GET /peer-state`.
const counters = {
  handshakes: 0,
  handshakeTransports: [],
  requests: 0,
  connections: 0,
  released: 0,
};
function logRequest(req) {
  try {
    const url = new URL(req.url, "http://127.0.0.1");
    if (!url.pathname.startsWith(serverOptions.path)) return;
    counters.requests += 1;
    const sid = url.searchParams.get("sid");
    if (!sid) {
      counters.handshakes += 1;
      if (counters.handshakeTransports.length < 1000) {
        counters.handshakeTransports.push(url.searchParams.get("transport"));
      }
      return;
    }
    let list = requestLogs.get(sid);
    if (!list) {
      list = [];
      requestLogs.set(sid, list);
      if (requestLogs.size > 500) requestLogs.delete(requestLogs.keys().next().value);
    }
    if (list.length < 2000) {
      list.push({
        method: req.method,
        transport: url.searchParams.get("transport"),
        query: Object.fromEntries(url.searchParams),
        address: req.socket.remoteAddress,
        cookie: req.headers.cookie || null,
        headers: req.headers,
      });
    }
  } catch (e) {
    // not a URL we care about
  }
}

// ---------------------------------------------------------------------------------------------
// the server

// Requests outside the engine's path get a 404 (the engine only passes those on to the
// listeners that existed when it attached).
// `GET /peer-state` is answered here (see the header comment).
const notFound = (req, res) => {
  if (req.method === "GET" && req.url.split("?")[0] === "/peer-state") {
    const body = JSON.stringify({
      pid: process.pid,
      clients: io.engine.clientsCount,
      handshakes: counters.handshakes,
      handshakeTransports: counters.handshakeTransports,
      requests: counters.requests,
      connections: counters.connections,
      released: counters.released,
      socketIo: socketIoVersion,
      parser: serverOptions.parser ? "msgpack" : "default",
    });
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    });
    res.end(body);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
};
const tlsCert = opt("TLS_CERT", undefined);
const tlsKey = opt("TLS_KEY", undefined);
const tlsCa = opt("TLS_CA", undefined);
const tlsOptions = () => {
  const o = { cert: require("fs").readFileSync(tlsCert), key: require("fs").readFileSync(tlsKey) };
  if (tlsCa) {
    o.ca = require("fs").readFileSync(tlsCa);
    o.requestCert = true;
    o.rejectUnauthorized = true;
  }
  return o;
};
const httpServer =
  tlsCert && tlsKey
    ? require("https").createServer(tlsOptions(), notFound)
    : http.createServer(notFound);
const io = new Server(httpServer, serverOptions);
// prepended after the engine attached (it re-wraps the "request" listeners it finds), so every
// request is seen before the engine handles it
httpServer.prependListener("request", logRequest);
httpServer.prependListener("upgrade", logRequest);

// Websocket frames received per engine connection, by kind, for sessions that opened over
// websocket: {text, binary}.
const wsFrames = new Map();

io.engine.on("connection", (conn) => {
  counters.connections += 1;
  const log = [];
  rawLogs.set(conn.id, log);
  if (rawLogs.size > 500) rawLogs.delete(rawLogs.keys().next().value);
  conn.on("packet", (packet) => {
    if (packet.type !== "message" || log.length >= RAW_PER_CONN) return;
    const d = packet.data;
    log.push(typeof d === "string" ? d : `<binary ${Buffer.byteLength(d)}>`);
  });
  const ws = conn.transport && conn.transport.name === "websocket" && conn.transport.socket;
  if (ws && typeof ws.on === "function") {
    const counts = { text: 0, binary: 0 };
    wsFrames.set(conn.id, counts);
    if (wsFrames.size > 500) wsFrames.delete(wsFrames.keys().next().value);
    ws.on("message", (_data, isBinary) => {
      counts[isBinary ? "binary" : "text"] += 1;
    });
  }
});

/** The handlers every namespace gets. */
function install(socket) {
  const nsp = socket.nsp;
  const key = statsKeyOf(socket);

  socket.onAny((event, ...all) => {
    const [args] = splitAck(all);
    const s = statsFor(key);
    s.events[event] = (s.events[event] || 0) + 1;
    if (s.received.length < 20000) s.received.push([event, describe(args)]);
    if (logEvents) {
      process.stdout.write(
        "EVENT " +
          JSON.stringify({
            nsp: nsp.name,
            sid: socket.id,
            key,
            event,
            args: describe(args),
            pid: process.pid,
          }) +
          "\n",
      );
    }
  });

  const on = (event, fn) => socket.on(event, safe(fn));

  // -- basics (socket.io-client's own test server) --------------------------------------------
  on("hi", () => socket.emit("hi"));

  // echo: emits `echo-back` with the same arguments; with an ack, also acks with them.
  on("echo", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(...args);
    else socket.emit("echo-back", ...args);
  });
  // ack: calls the ack with the same arguments (never emits).
  on("ack", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(...args);
  });
  // binary: same as echo, for binary payloads (buffers are re-sent as binary attachments).
  on("binary", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(...args);
    else socket.emit("binary-back", ...args);
  });
  // describe: acks with the arguments, buffers shown as {"$binary": hex}.
  on("describe", (...all) => {
    const [args, cb] = splitAck(all);
    if (cb) cb(describe(args));
    else socket.emit("described", describe(args));
  });
  // noAck: asks for an ack and never answers (client ack timeouts, acks at disconnect).
  on("noAck", () => {});
  // ackLater(ms, ...args): acks with args after ms milliseconds.
  on("ackLater", (...all) => {
    const [args, cb] = splitAck(all);
    const ms = Math.min(Number(args[0]) || 0, 60000);
    if (cb) setTimeout(() => cb(...args.slice(1)), ms);
  });

  on("getId", (...all) => {
    const [, cb] = splitAck(all);
    if (cb) cb(socket.id);
    else socket.emit("id", socket.id);
  });
  const handshake = () => ({
    id: socket.id,
    nsp: nsp.name,
    engineId: socket.conn.id,
    transport: socket.conn.transport.name,
    recovered: socket.recovered,
    query: socket.handshake.query,
    auth: socket.handshake.auth,
    headers: socket.handshake.headers,
    cookie: socket.handshake.headers.cookie || null,
    url: socket.handshake.url,
    address: socket.handshake.address,
  });
  for (const name of ["handshake", "getHandshake"]) {
    on(name, (...all) => {
      const [, cb] = splitAck(all);
      if (cb) cb(handshake());
      else socket.emit("handshake", handshake());
    });
  }
  on("getTransport", (...all) => {
    const [, cb] = splitAck(all);
    if (cb) cb(socket.conn.transport.name);
  });

  // dates travel as ISO strings
  on("getAckDate", (...all) => {
    const [, cb] = splitAck(all);
    if (cb) cb(new Date());
  });
  on("getDate", () => socket.emit("takeDate", new Date()));
  on("getDateObj", () => socket.emit("takeDateObj", { date: new Date() }));
  on("getUtf8", () => {
    socket.emit("takeUtf8", "てすと");
    socket.emit("takeUtf8", "Я Б Г Д Ж Й");
    socket.emit("takeUtf8", "Ä ä Ü ü ß");
    socket.emit("takeUtf8", "utf8 — string");
    socket.emit("takeUtf8", "utf8 — string");
  });
  on("false", () => socket.emit("false", false));
  on("null", () => socket.emit("null", null));

  // -- binary ---------------------------------------------------------------------------------
  on("doge", () => socket.emit("doge", Buffer.from("asdfasdf", "utf8")));
  // getBinary: emits `binary-data` (and acks, when asked) with a top-level buffer, a nested
  // structure holding several buffers, and a plain string.
  on("getBinary", (...all) => {
    const [, cb] = splitAck(all);
    const payload = [
      Buffer.from("asdfasdf", "utf8"),
      {
        text: "nested",
        inner: { bytes: Buffer.from([1, 2, 3]) },
        list: [Buffer.from([4, 5]), "x", Buffer.from([])],
      },
      "plain",
    ];
    if (cb) cb(...payload);
    else socket.emit("binary-data", ...payload);
  });
  // emitBinaryThenText: four events that must be received in this order.
  on("emitBinaryThenText", () => {
    socket.emit("seq", 1, Buffer.from([1]));
    socket.emit("seq", 2, "text");
    socket.emit("seq", 3, { b: Buffer.from([3, 3]) });
    socket.emit("seq", 4, "end");
  });

  // -- server -> client acks ------------------------------------------------------------------
  // askForAck({timeout, event = "ask", args = []}): the server emits `event` with `args` asking
  // for an ack (with `socket.timeout(timeout)` when a timeout is given), then emits `askResult`
  // with {ok: true, answer: [..ack args..]} or {ok: false, error: message}; also acks the
  // caller with that result when asked.
  on("askForAck", (...all) => {
    const [args, cb] = splitAck(all);
    const o = args[0] || {};
    const event = o.event || "ask";
    const payload = Array.isArray(o.args) ? o.args : [];
    const done = (result) => {
      socket.emit("askResult", result);
      if (cb) cb(result);
    };
    if (typeof o.timeout === "number" && typeof socket.timeout === "function") {
      socket.timeout(o.timeout).emit(event, ...payload, (err, ...answer) => {
        if (err) done({ ok: false, error: String(err.message || err) });
        else done({ ok: true, answer: describe(answer) });
      });
    } else if (typeof o.timeout === "number") {
      // socket.io 3.x: no `socket.timeout()`; the same by hand, with 4.x's message.
      let pending = true;
      const timer = setTimeout(() => {
        pending = false;
        done({ ok: false, error: "operation has timed out" });
      }, o.timeout);
      socket.emit(event, ...payload, (...answer) => {
        if (!pending) return;
        clearTimeout(timer);
        done({ ok: true, answer: describe(answer) });
      });
    } else {
      socket.emit(event, ...payload, (...answer) => done({ ok: true, answer: describe(answer) }));
    }
  });

  // -- counting and ordering ------------------------------------------------------------------
  // num(n): records n (see `stats`); acks with n when asked.
  on("num", (...all) => {
    const [args, cb] = splitAck(all);
    statsFor(key).nums.push(args[0]);
    if (cb) cb(args[0]);
  });
  // stats(cb): {events: {name: count}, received: [[name, args], ...], nums: [...]}.
  on("stats", (...all) => {
    const [, cb] = splitAck(all);
    const s = statsFor(key);
    if (cb) cb({ key, events: s.events, received: s.received, nums: s.nums });
  });
  on("resetStats", (...all) => {
    const [, cb] = splitAck(all);
    stats.delete(key);
    if (cb) cb(true);
  });
  // rawLog([engineId], cb): the raw Socket.IO packets received on an engine connection
  // (default: this socket's), e.g. ["0", "0/foo,", "2[\"hi\"]"].
  on("rawLog", (...all) => {
    const [args, cb] = splitAck(all);
    const id = typeof args[0] === "string" ? args[0] : socket.conn.id;
    if (cb) cb(rawLogs.get(id) || null);
  });
  // wsFrames(cb): the websocket frames this socket's engine connection received, by kind
  // ({text, binary}; null when it did not open over websocket).
  on("wsFrames", (...all) => {
    const [, cb] = splitAck(all);
    if (cb) cb(wsFrames.get(socket.conn.id) || null);
  });
  // requestLog([engineId], cb): the HTTP requests of an engine connection after its handshake:
  // [{method, transport, query, address, cookie, headers}] (a websocket upgrade is one GET with transport
  // "websocket").
  on("requestLog", (...all) => {
    const [args, cb] = splitAck(all);
    const id = typeof args[0] === "string" ? args[0] : socket.conn.id;
    if (cb) cb(requestLogs.get(id) || []);
  });
  // disconnectLog([key], cb): the server-side disconnect reasons of the sockets of a stats key.
  on("disconnectLog", (...all) => {
    const [args, cb] = splitAck(all);
    const k = typeof args[0] === "string" ? args[0] : key;
    if (cb) cb(disconnectLogs.get(k) || []);
  });
  socket.on("disconnect", (reason) => {
    const list = disconnectLogs.get(key) || [];
    list.push(reason);
    disconnectLogs.set(key, list);
  });
  // emitN({n, event = "num", binary = false}): emits `event` with 0..n-1 to this socket.
  on("emitN", (...all) => {
    const [args, cb] = splitAck(all);
    const o = args[0] || {};
    const n = Math.min(Number(o.n) || 0, 1e6);
    const event = o.event || "num";
    for (let i = 0; i < n; i++) {
      if (o.binary) socket.emit(event, i, Buffer.from([i & 0xff]));
      else socket.emit(event, i);
    }
    if (cb) cb(n);
  });
  // emitTo({room, event, args, nsp}): broadcasts to a room (a socket id is a room), in this
  // namespace unless `nsp` is given. With recovery on, the packet is kept for a client that is
  // away and delivered when it recovers its session.
  on("emitTo", (...all) => {
    const [args, cb] = splitAck(all);
    const o = args[0] || {};
    const target = io.of(o.nsp || nsp.name);
    const payload = Array.isArray(o.args) ? o.args : [];
    if (o.room) target.to(o.room).emit(o.event, ...payload);
    else target.emit(o.event, ...payload);
    if (cb) cb(true);
  });
  // emitLarge({size, event = "large"}): emits a string of `size` characters.
  on("emitLarge", (...all) => {
    const [args, cb] = splitAck(all);
    const o = args[0] || {};
    socket.emit(o.event || "large", "x".repeat(Math.min(Number(o.size) || 0, 64 * 1024 * 1024)));
    if (cb) cb(true);
  });
  // -- volatile / outgoing --------------------------------------------------------------------
  // emitVolatile(event, ...args): the server's volatile emit.
  on("emitVolatile", (...all) => {
    const [args, cb] = splitAck(all);
    socket.volatile.emit(...args);
    if (cb) cb(true);
  });

  // -- endings and faults ---------------------------------------------------------------------
  // disconnectMe([close]): server-side socket.disconnect(close) -> "io server disconnect".
  on("disconnectMe", (...all) => {
    const [args] = splitAck(all);
    setImmediate(() => socket.disconnect(args[0] === true));
  });
  // disconnectAll(): io.disconnectSockets() in every namespace.
  on("disconnectAll", () => {
    setImmediate(() => {
      for (const n of io._nsps.values()) {
        if (typeof n.disconnectSockets === "function") n.disconnectSockets();
        else for (const s of [...n.sockets.values()]) s.disconnect(); // socket.io 3.x
      }
    });
  });
  // closeEngine(): closes the engine connection -> "transport close" on the client.
  on("closeEngine", () => setImmediate(() => socket.conn.close()));
  // closeWebsocket: closes the websocket with a close frame (code 1000) and no Engine.IO close
  // packet, as a proxy that ends a websocket cleanly does -> the client: "transport close".
  on("closeWebsocket", () =>
    setImmediate(() => {
      const transport = socket.conn.transport;
      if (transport && transport.name === "websocket" && transport.socket) {
        transport.socket.close(1000);
      }
    })
  );
  // garbage([raw]): writes raw Engine.IO messages (default "garbage": not a Socket.IO packet)
  // -> the client must close the connection with "parse error". `raw` is a string, or a list
  // of frames: strings, and {"$binary": "<hex>"} for binary frames.
  on("garbage", (...all) => {
    const [args] = splitAck(all);
    const raw = args[0] === undefined ? "garbage" : args[0];
    const frames = Array.isArray(raw) ? raw : [raw];
    setImmediate(() => {
      for (const f of frames) {
        if (f && typeof f === "object" && typeof f.$binary === "string") {
          socket.conn.write(Buffer.from(f.$binary, "hex"));
        } else {
          socket.conn.write(String(f));
        }
      }
    });
  });
  // garbageBinary(): a binary frame while no attachment is expected.
  on("garbageBinary", () => setImmediate(() => socket.conn.write(Buffer.from([1, 2, 3]))));
  // stopPinging(): the engine stops sending pings (and stops waiting for pongs), so the client
  // must detect a ping timeout by itself.
  on("stopPinging", (...all) => {
    const [, cb] = splitAck(all);
    const conn = socket.conn;
    const send = conn.sendPacket.bind(conn);
    conn.sendPacket = (type, ...rest) => (type === "ping" ? undefined : send(type, ...rest));
    conn.resetPingTimeout = () => {};
    clearTimeout(conn.pingTimeoutTimer);
    if (cb) cb(true);
  });
  // exit([code]): the whole server process exits.
  on("exit", (...all) => {
    const [args] = splitAck(all);
    setImmediate(() => process.exit(Number(args[0]) || 0));
  });
}

// "/" refuses a handshake whose query has `fail` (socket.io-client's test server does too).
io.use((socket, next) => {
  if (socket.handshake.query.fail) return next(new Error("Auth failed (main namespace)"));
  next();
});
io.on("connection", install);

for (const name of ["/foo", "/bar", "/asd", "/recovery"]) {
  io.of(name).on("connection", install);
}

// "/abc" emits the handshake as soon as the socket connects.
io.of("/abc").on("connection", (socket) => {
  install(socket);
  socket.emit("handshake", {
    id: socket.id,
    query: socket.handshake.query,
    auth: socket.handshake.auth,
    headers: socket.handshake.headers,
  });
});

// "/emit-on-connect" emits at once on connection: the client must not lose these.
io.of("/emit-on-connect").on("connection", (socket) => {
  install(socket);
  socket.emit("welcome", 1);
  socket.emit("welcome", 2, Buffer.from([2]));
  socket.emit("welcome", 3, "last");
});

// "/burst": emits `burst` {seq, text} with seq = 0..n-1 as soon as the socket connects, in
// one go (no await between them); n is `auth.n` (default 2000, at most 100000). A client must
// get all of them, in order, whatever the transport does meanwhile (e.g. the upgrade).
io.of("/burst").on("connection", (socket) => {
  install(socket);
  const auth = socket.handshake.auth || {};
  const n = Math.min(auth.n === undefined ? 2000 : Number(auth.n) || 0, 100000);
  for (let i = 0; i < n; i++) socket.emit("burst", { seq: i, text: "burst event" });
});

// "/auth": the middleware wants auth.token === "secret".
io.of("/auth")
  .use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if (auth.token === "secret") return next();
    const err = new Error("not authorized");
    err.data = { content: "Please retry later" };
    next(err);
  })
  .on("connection", install);

// "/no": always refused (socket.io-client's test server).
io.of("/no").use((socket, next) => next(new Error("Auth failed (custom namespace)")));

// "/timeout": the middleware never calls next(): the CONNECT is never answered.
io.of("/timeout").use(() => {});

// "/slow": the middleware lets the socket in after `auth.delay` ms (default 500, at most 60 s):
// a namespace that takes a while to connect (buffered emits and acks while it connects).
io.of("/slow")
  .use((socket, next) => {
    const auth = socket.handshake.auth || {};
    const delay = auth.delay === undefined ? 500 : Number(auth.delay) || 0;
    setTimeout(() => next(), Math.min(delay, 60000));
  })
  .on("connection", install);

// ---------------------------------------------------------------------------------------------
// lifecycle

function shutdown(code) {
  // Exit at once: the tests want the port back, not a graceful goodbye.
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

// Listen; when asked for a fixed port that is still taken (a restart), retry for a while.
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
