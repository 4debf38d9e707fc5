#!/usr/bin/env node
// Runs the real validators on files the ferrio-schema tests export, and prints what they say
// as JSON on stdout (one line), for the Rust tests to assert on.
//
//   node check.cjs asyncapi FILE...
//     -> [{"file": FILE, "diagnostics": [{"code", "severity", "message", "path"}]}]
//        severity as the parser reports it: 0 error, 1 warning, 2 information, 3 hint.
//
//   node check.cjs json-schema BUNDLE CASES
//     CASES is a JSON file: [{"pointer": "/$defs/...", "data": <value>}], each pointer a plain
//     (not URI-encoded) JSON Pointer into BUNDLE.
//     -> {"warnings": [ajv's strict-mode messages], "results": [{"pointer", "valid", "errors"}]}
"use strict";

const fs = require("node:fs");

async function asyncapi(files) {
  const { Parser } = require("@asyncapi/parser");
  const parser = new Parser();
  const out = [];
  for (const file of files) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"));
    const list = diagnostics.map((d) => ({
      code: String(d.code),
      severity: d.severity,
      message: d.message,
      path: (d.path || []).join("/"),
    }));
    if (!document && !list.some((d) => d.severity === 0)) {
      list.push({ code: "no-document", severity: 0, message: "the parser returned no document", path: "" });
    }
    out.push({ file, diagnostics: list });
  }
  return out;
}

// The formats schemars writes, checked for what they promise.
const INTEGER_RANGES = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  int64: [-Infinity, Infinity],
  uint64: [0, Infinity],
  int128: [-Infinity, Infinity],
  uint128: [0, Infinity],
  int: [-Infinity, Infinity],
  uint: [0, Infinity],
};

function jsonSchema(bundleFile, casesFile) {
  const Ajv2020 = require("ajv/dist/2020").default;
  const warnings = [];
  const logger = { log() {}, warn: (...a) => warnings.push(a.join(" ")), error: (...a) => warnings.push(a.join(" ")) };
  // Strict, except for `strictTypes`: binary data (ferrio_schema::binary_schema) is
  // deliberately untyped, since bytes have no JSON type, and that lint wants a `type` next to
  // every `format`.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true, logger });
  for (const [name, [min, max]] of Object.entries(INTEGER_RANGES)) {
    ajv.addFormat(name, { type: "number", validate: (x) => Number.isInteger(x) && x >= min && x <= max });
  }
  ajv.addFormat("float", { type: "number", validate: (x) => Number.isFinite(x) });
  ajv.addFormat("double", { type: "number", validate: (x) => Number.isFinite(x) });
  // Binary data is a Socket.IO attachment, no JSON value: nothing to check.
  ajv.addFormat("binary", true);

  const bundle = JSON.parse(fs.readFileSync(bundleFile, "utf8"));
  const cases = JSON.parse(fs.readFileSync(casesFile, "utf8"));
  ajv.addSchema(bundle);
  const results = cases.map(({ pointer, data }) => {
    const fragment = pointer.split("/").map(encodeURIComponent).join("/");
    const validate = ajv.getSchema(`${bundle.$id}#${fragment}`);
    if (!validate) {
      return { pointer, valid: null, errors: [`no schema at ${pointer}`] };
    }
    const valid = validate(data);
    const errors = (validate.errors || []).map((e) => `${e.instancePath || "/"} ${e.message}`);
    return { pointer, valid, errors };
  });
  return { warnings, results };
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  let out;
  if (command === "asyncapi") {
    out = await asyncapi(args);
  } else if (command === "json-schema" && args.length === 2) {
    out = jsonSchema(args[0], args[1]);
  } else {
    throw new Error("usage: check.cjs asyncapi FILE... | check.cjs json-schema BUNDLE CASES");
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
