// A zod-sockets server running contract.js, for ferrio's import suite (tests/contract_zod.rs).
//
//   node server.js --docs   prints the AsyncAPI 3.0 documentation zod-sockets generates
//                           (YAML), which the suite imports into Rust
//   node server.js          serves the contract on 127.0.0.1 on a free port, prints
//                           `LISTENING <port>`, and exits when its stdin closes
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { attachSockets, Documentation } = require("zod-sockets");
const { config, actions } = require("./contract");

if (process.argv.includes("--docs")) {
  const yaml = new Documentation({
    config,
    actions,
    version: "1.0.0",
    title: "zod-sockets shop",
    description: "The contract of ferrio's zod-sockets test server.",
    servers: { local: { url: "http://localhost:8090/socket.io" } },
  }).getSpecAsYaml();
  process.stdout.write(yaml);
  process.exit(0);
}

const quiet = {
  debug: () => {},
  info: () => {},
  warn: (...args) => console.error("warn", ...args),
  error: (...args) => console.error("error", ...args),
};

const target = http.createServer();
target.listen(0, "127.0.0.1", async () => {
  await attachSockets({ io: new Server(), config, actions, target, logger: quiet });
  process.stdout.write(`LISTENING ${target.address().port}\n`);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
