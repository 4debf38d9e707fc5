// One node of the cluster that ferrio's suite `tests/cluster.rs` talks to: the official
// socket.io server (pinned by package-lock.json) with @socket.io/redis-adapter, so that
// broadcasts and rooms reach the clients of every node. Started by tests/support/cluster.rs
// behind HAProxy, with a Redis server, all on loopback:
//
//   node server.js PORT --redis=REDIS_PORT --name=NAME
//
// It prints `LISTENING <port>` once Redis is connected and it accepts connections, a line
// `CONNECT <name> <nsp> <engine id>` per namespace connection, and exits when its stdin closes.
//
// Handlers, on `/` and `/chat`:
// - `whoami` (ack): {node, nsp, engineId, transport} of this socket, as this node sees it.
// - `join room` (ack): joins the room; acks with the node's name.
// - `broadcast payload`: emits `broadcast payload node` to every client of the namespace,
//   on every node.
// - `toRoom room payload`: emits `room room payload node` to the room, on every node.
// - `count` (ack): how many sockets the namespace has across the cluster (`fetchSockets`).
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
};
const port = Number(args.find((a) => !a.startsWith("--")) || 0);
const name = option("name", "node");
const redisPort = Number(option("redis", 6379));

async function main() {
  const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) {
    client.on("error", (err) => console.error(`redis: ${err.message}`));
  }
  await Promise.all([pub.connect(), sub.connect()]);

  const server = http.createServer();
  const io = new Server(server, { adapter: createAdapter(pub, sub) });

  for (const nsp of [io.of("/"), io.of("/chat")]) {
    nsp.on("connection", (socket) => {
      console.log(`CONNECT ${name} ${nsp.name} ${socket.conn.id}`);
      socket.on("whoami", (ack) =>
        ack({
          node: name,
          nsp: nsp.name,
          engineId: socket.conn.id,
          transport: socket.conn.transport.name,
        })
      );
      socket.on("join", (room, ack) => {
        socket.join(room);
        ack(name);
      });
      socket.on("broadcast", (payload) => nsp.emit("broadcast", payload, name));
      socket.on("toRoom", (room, payload) => nsp.to(room).emit("room", room, payload, name));
      socket.on("count", async (ack) => ack((await nsp.fetchSockets()).length));
    });
  }

  server.listen(port, "127.0.0.1", () => {
    console.log(`LISTENING ${server.address().port}`);
  });
}

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
