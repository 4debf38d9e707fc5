// The chat server of examples/chat.rs, written in TypeScript against the declarations that
// ferrio-schema exports from the Rust contract (examples/common/chat_contract.rs). The test
// tests/ts_roundtrip.rs writes them to generated/events.d.ts, compiles this file with
// `tsc --strict` and runs it with node; the typed Rust client then talks to it.
//
//   node dist/server.js [port]
//
// It listens on 127.0.0.1 (port 0, the default, is any free port), prints `LISTENING <port>`
// and exits when its stdin closes.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import type {
  ClientToServerEvents,
  InterServerEvents,
  RoomInfo,
  ServerToClientEvents,
  SocketData,
} from "./generated/events";

type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** How long a client may take to answer a question. */
const ANSWER_TIMEOUT_MS = 5000;

const httpServer = createServer();
const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(
  httpServer,
);
const chat = io.of("/chat");

/** Who is who: socket id -> the name the client gave in its auth. */
const names = new Map<string, string>();
const nameOf = (id: string): string => names.get(id) ?? id;

chat.on("connection", (socket: ChatSocket) => {
  const auth: { name?: unknown } = socket.handshake.auth;
  names.set(socket.id, typeof auth.name === "string" ? auth.name : socket.id);
  socket.on("disconnect", () => names.delete(socket.id));

  // Fire and forget; the others in the room hear who is typing.
  socket.on("typing", (room) => {
    socket.to(room).emit("typing", nameOf(socket.id), room);
  });

  // An ack with a value; the room hears `user joined` (two arguments) first.
  socket.on("join", async (room, callback) => {
    socket.to(room).emit("user joined", nameOf(socket.id), room);
    await socket.join(room);
    const info: RoomInfo = {
      name: room,
      members: [...(chat.adapter.rooms.get(room) ?? [])].map(nameOf).sort(),
    };
    callback(info);
  });

  // Another wire name, two arguments, an ack without a value.
  socket.on("chat message", (room, text, callback) => {
    socket.to(room).emit("message", { room, user: nameOf(socket.id), text });
    callback();
  });

  // A binary field: `file.data` arrives as a Buffer and is relayed as an attachment.
  socket.on("share", (room, file, callback) => {
    socket.to(room).emit("file", nameOf(socket.id), file);
    callback(file.data.byteLength);
  });

  // The server asks each other member of the room for an ack, and acks with their answers.
  socket.on("ask", async (room, question, callback) => {
    const others = [...chat.sockets.values()].filter(
      (other) => other.id !== socket.id && other.rooms.has(room),
    );
    const answers = await Promise.all(
      others.map(async (other) => {
        try {
          const answer: string = await other
            .timeout(ANSWER_TIMEOUT_MS)
            .emitWithAck("question", nameOf(socket.id), question);
          return [`${nameOf(other.id)}: ${answer}`];
        } catch {
          return []; // no answer in time
        }
      }),
    );
    callback(answers.flat());
  });

  // Node's (err, data) convention: `callback(null, info)` or `callback(error)`.
  socket.on("lookup", (room, callback) => {
    const members = chat.adapter.rooms.get(room);
    if (members === undefined || room === socket.id) {
      callback("no such room");
      return;
    }
    callback(null, { name: room, members: [...members].map(nameOf).sort() });
  });

  // Acks of several values both ways: each client's `status` answers (busy, text), and
  // `stats` acks (clients, busy).
  socket.on("stats", async (callback) => {
    const statuses = await Promise.all(
      [...chat.sockets.values()].map(
        (other) =>
          new Promise<boolean>((resolve) => {
            other.timeout(ANSWER_TIMEOUT_MS).emit("status", (err, busy, text) => {
              resolve(!err && busy && text.length > 0);
            });
          }),
      ),
    );
    callback(statuses.length, statuses.filter((busy) => busy).length);
  });
});

/** Never called: each marked line misuses the contract, so tsc must reject it. */
export function misuses(socket: ChatSocket): void {
  // @ts-expect-error the contract has no such event
  socket.emit("no such event");
  // @ts-expect-error `message` carries a ChatMessage, not a string
  socket.emit("message", "hello");
  // @ts-expect-error `join` acks with a RoomInfo
  socket.on("join", (room, callback) => callback(room));
  // @ts-expect-error `lookup` acks Node-style: the error (or null) comes first
  socket.on("lookup", (room, callback) => callback({ name: room, members: [] }));
  // @ts-expect-error `stats` acks with two numbers
  socket.on("stats", (callback) => callback(1));
}

const port = Number(process.argv[2] ?? 0);
httpServer.listen(port, "127.0.0.1", () => {
  const { port } = httpServer.address() as AddressInfo;
  console.log(`LISTENING ${port}`);
});

// The test stops the server by closing its stdin.
const stop = (): void => {
  void io.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
