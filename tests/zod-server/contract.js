// The zod contract of the zod-sockets server (server.js) that ferrio's import suite talks to
// (tests/contract_zod.rs). Two namespaces; incoming events ("actions") with and without
// acknowledgements, outgoing events ("emission") with and without; optional and nullable
// fields, enums, literals, a discriminated union, a plain union, records, arrays and dates.
// zod-sockets has no binary type (a Buffer is `z.any()` to its documentation), so there is
// none here.
"use strict";

const { z } = require("zod");
const { Config, ActionsFactory } = require("zod-sockets");

const Priority = z.enum(["low", "high"]).describe("How urgent an order is");

const Order = z
  .object({
    item: z.string().describe("What to buy"),
    quantity: z.number().int().describe("How many"),
    note: z.string().optional().describe("A note for the shop, if any"),
    gift: z.string().nullable().describe("Gift wrapping text, or null"),
    priority: Priority,
    tags: z.array(z.string()),
    extras: z.record(z.number()).describe("Extra items by name, with their price"),
  })
  .describe("An order");

const Receipt = z.object({
  id: z.string(),
  total: z.number(),
  placedAt: z.date().describe("When the order was placed"),
  priority: Priority,
});

const Shape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("circle"), radius: z.number() }),
  z.object({ kind: z.literal("square"), side: z.number() }),
]);

const config = new Config({ startupLogo: false, timeout: 5000 })
  .addNamespace({
    path: "/",
    emission: {
      notice: { schema: z.tuple([z.string(), z.number().int()]) },
      question: { schema: z.tuple([z.string()]), ack: z.tuple([z.boolean()]) },
      answered: { schema: z.tuple([z.boolean(), z.date()]) },
    },
  })
  .addNamespace({
    path: "/shop",
    emission: {
      prices: { schema: z.tuple([z.record(z.number())]) },
    },
  });

const factory = new ActionsFactory(config);

const actions = [
  // Emit with an ack carrying a value.
  factory.build({
    event: "order",
    input: z.tuple([Order]),
    output: z.tuple([Receipt]),
    handler: async ({ input: [order] }) => {
      const extras = Object.values(order.extras).reduce((a, b) => a + b, 0);
      return [
        {
          id: `${order.item}-${order.quantity}${order.note ? "-noted" : ""}${order.gift === null ? "" : "-gift"}`,
          total: order.quantity * 2.5 + extras,
          placedAt: new Date(Date.UTC(2026, 11, 6, 12, 0, 0)),
          priority: order.priority,
        },
      ];
    },
  }),
  // Fire and forget, two arguments, a wire name with a space; answered with an outgoing event.
  factory.build({
    event: "chat message",
    input: z.tuple([z.string(), z.string()]),
    handler: async ({ input: [room, text], client }) => {
      await client.emit("notice", `${room}: ${text}`, text.length);
    },
  }),
  // An ack whose value is a union (a number or a text).
  factory.build({
    event: "shape",
    input: z.tuple([Shape]),
    output: z.tuple([z.union([z.number(), z.string()])]),
    handler: async ({ input: [shape] }) =>
      shape.kind === "circle" ? [shape.radius * shape.radius * 3] : [`square of side ${shape.side}`],
  }),
  // An ack without a value.
  factory.build({
    event: "ping",
    input: z.tuple([]),
    output: z.tuple([]),
    handler: async () => [],
  }),
  // The server asks the client back (an outgoing event with an ack), then reports the answer.
  factory.build({
    event: "ask me",
    input: z.tuple([z.string()]),
    handler: async ({ input: [question], client }) => {
      const [answer] = await client.emit("question", question);
      await client.emit("answered", answer, new Date(Date.UTC(2026, 11, 6, 12, 0, 0)));
    },
  }),
  // The second namespace: a record in, an integer back, and a push.
  factory.build({
    ns: "/shop",
    event: "restock",
    input: z.tuple([z.record(z.number().int())]),
    output: z.tuple([z.number().int()]),
    handler: async ({ input: [counts], client }) => {
      await client.emit("prices", { apple: 0.5, pear: 0.75 });
      return [Object.values(counts).reduce((a, b) => a + b, 0)];
    },
  }),
];

module.exports = { config, actions };
