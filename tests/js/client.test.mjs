// Unit tests of the packaged browser client (src/fieldstream/_static/fieldstream.js) under
// node's test runner; tests/test_js.py runs them (node --test), so the README's test command
// covers them.  The transport tests talk to a real node:http server on loopback.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";

import {
  BURST,
  FieldStream,
  SSEParser,
  StreamState,
  bufferingVerdict,
  formatPath,
  isFinal,
  parseEventId,
  parsePath,
} from "../../src/fieldstream/_static/fieldstream.js";

const frame = (event, data, id) => `event: ${event}\ndata: ${JSON.stringify(data)}\n${id ? `id: ${id}\n` : ""}\n`;

// The frames fieldstream writes for {"name": "Ada", "tags": ["x", 1], "age": "9"} with a
// schema that wants age as an int: deltas, completions, an invalid value, done, end.
const RECORDS = [
  ["delta", { event: "delta", path: "$.name", text: "A" }],
  ["delta", { event: "delta", path: "$.name", text: "da" }],
  ["field", { event: "field", path: "$.name", value: "Ada" }],
  ["delta", { event: "delta", path: "$.tags[0]", text: "x" }],
  ["field", { event: "field", path: "$.tags[0]", value: "x" }],
  ["field", { event: "field", path: "$.tags[1]", value: 1 }],
  ["field", { event: "field", path: "$.tags", value: ["x", 1] }],
  [
    "invalid",
    {
      event: "invalid",
      path: "$.age",
      value: "9x",
      errors: [{ type: "int_parsing", loc: ["age"], msg: "Input should be a valid integer" }],
    },
  ],
  ["done", { event: "done", value: { name: "Ada", tags: ["x", 1], age: "9x" } }],
  ["end", { event: "end" }],
];
const BODY = RECORDS.map(([k, d], i) => frame(k, d, `s1:${i + 1}`)).join("");

test("paths round-trip through their text form", () => {
  for (const parts of [[], ["a"], ["a", 0, "b c"], ['q"uote', "\\", 3], ["é", "_x1"]]) {
    assert.deepEqual(parsePath(formatPath(parts)), parts);
  }
  assert.deepEqual(parsePath('$.a[0]["b c"]'), ["a", 0, "b c"]);
  assert.throws(() => parsePath("a.b"), TypeError);
  assert.throws(() => parsePath("$.a[x]"), TypeError);
  assert.deepEqual(parseEventId("abc_-9:12"), { stream: "abc_-9", seq: 12 });
  assert.equal(parseEventId("12"), null);
  assert.equal(parseEventId(null), null);
});

test("the SSE parser gives the same frames at every split, with any line ending", () => {
  const whole = new SSEParser().feed(BODY);
  assert.equal(whole.length, RECORDS.length);
  assert.deepEqual(whole[0], { event: "delta", data: JSON.stringify(RECORDS[0][1]), id: "s1:1" });
  for (const body of [BODY, BODY.replaceAll("\n", "\r\n"), BODY.replaceAll("\n", "\r")]) {
    for (let cut = 0; cut <= body.length; cut += 7) {
      const p = new SSEParser();
      const frames = [...p.feed(body.slice(0, cut)), ...p.feed(body.slice(cut))];
      assert.deepEqual(frames, whole);
    }
    const p = new SSEParser();
    const perChar = [...body].flatMap((c) => p.feed(c));
    assert.deepEqual(perChar, whole);
  }
  // comments, fields without a colon, multi-line data
  assert.deepEqual(new SSEParser().feed(": keepalive\n\ndata: a\ndata: b\nretry\n\n"), [
    { event: "message", data: "a\nb", id: null },
  ]);
});

test("the state keeps the live value, each path's status and calls back", () => {
  const state = new StreamState();
  const seen = [];
  for (const name of ["delta", "field", "item", "invalid", "done", "end"]) state.on(name, (e) => seen.push([name, e.path ?? null]));
  const values = [];
  state.on("change", () => values.push(JSON.stringify(state.value)));
  const [first, ...rest] = RECORDS;
  assert.equal(state.apply(...first), false);
  assert.deepEqual(state.value, { name: "A" });
  assert.equal(state.status("$.name"), "typing");
  for (const [kind, record] of rest.slice(0, 6)) state.apply(kind, record);
  assert.equal(state.status("$.name"), "complete");
  assert.deepEqual(state.value, { name: "Ada", tags: ["x", 1] });
  state.apply(...rest[6]); // invalid
  assert.equal(state.status("$.age"), "invalid");
  assert.equal(state.errors("$.age")[0].msg, "Input should be a valid integer");
  state.apply(...rest[7]); // done
  assert.equal(state.apply(...rest[8]), true); // end
  assert.ok(state.finished);
  assert.deepEqual(state.value, { name: "Ada", tags: ["x", 1], age: "9x" });
  assert.deepEqual(
    seen.filter(([n]) => n === "item"),
    [
      ["item", "$.tags[0]"],
      ["item", "$.tags[1]"],
    ],
  );
  assert.deepEqual(seen.at(-1), ["end", null]);
  assert.equal(values[1], '{"name":"Ada"}'); // the value grows as the deltas arrive
});

test("a target's fault does not end the stream; a stream error does", () => {
  assert.equal(isFinal("error", { event: "error", message: "x", source: "choices[0]" }), false);
  assert.equal(isFinal("error", { event: "error", message: "x", source: null }), false);
  assert.equal(isFinal("error", { event: "error", message: "x" }), true);
  const state = new StreamState();
  const faults = [];
  state.on("fault", (r) => faults.push(r.message));
  state.apply("start", { event: "start", source: "choices[0]", kind: "content" });
  state.apply("delta", { event: "delta", path: "$", text: "hi", source: "choices[0]" });
  assert.equal(state.target("choices[0]").value, "hi");
  state.apply("error", { event: "error", message: "refused", source: "choices[0]", kind: "refusal" });
  assert.deepEqual(faults, ["refused"]);
  assert.equal(state.finished, false);
});

test("a listener that throws does not break the stream", async () => {
  const state = new StreamState();
  state.on("field", () => {
    throw new Error("listener bug");
  });
  const reported = [];
  const before = globalThis.reportError;
  globalThis.reportError = (err) => reported.push(err.message); // as browsers report it
  try {
    state.apply("field", { event: "field", path: "$.a", value: 1 });
    state.apply("field", { event: "field", path: "$.b", value: 2 });
  } finally {
    globalThis.reportError = before;
  }
  assert.deepEqual(state.value, { a: 1, b: 2 });
  assert.deepEqual(reported, ["listener bug", "listener bug"]);
});

/** A loopback server: GET /stream serves BODY, cutting the connection after `cut` frames on the first try. */
async function server(handler) {
  const srv = http.createServer(handler);
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const close = () => {
    const done = new Promise((r) => srv.close(r));
    srv.closeAllConnections();
    return done;
  };
  return { url: `http://127.0.0.1:${srv.address().port}`, close };
}

const frames = RECORDS.map(([k, d], i) => frame(k, d, `s1:${i + 1}`));

test("fetch transport: a dropped connection resumes with Last-Event-ID and nothing twice", async () => {
  const requests = [];
  const srv = await server((req, res) => {
    const last = req.headers["last-event-id"] ?? null;
    requests.push({ method: req.method, last, auth: req.headers.authorization });
    res.writeHead(200, { "content-type": "text/event-stream", "x-fieldstream-stream": "s1" });
    if (last === null) {
      res.write(frames.slice(0, 4).join(""), () => res.socket.destroy()); // the connection drops mid-stream
      return;
    }
    const after = Number(last.split(":")[1]);
    // the server resends one frame the client already has: the client must skip it
    res.end(frames.slice(after - 1).join(""));
  });
  try {
    const fields = [];
    const s = new FieldStream(srv.url + "/stream", {
      method: "POST",
      body: JSON.stringify({ prompt: "x" }),
      headers: { Authorization: "Bearer t" },
      retry: { delay: 1 },
    });
    s.on("field", (e) => fields.push(e.path));
    await s.start().done;
    assert.equal(s.state, "done");
    assert.deepEqual(s.value, { name: "Ada", tags: ["x", 1], age: "9x" });
    assert.equal(s.reconnects, 1);
    assert.deepEqual(requests.map((r) => r.last), [null, "s1:4"]);
    assert.ok(requests.every((r) => r.method === "POST" && r.auth === "Bearer t"));
    assert.deepEqual(s.frameIds.slice(4, 5), ["s1:4"]); // received again...
    assert.deepEqual(fields, ["$.name", "$.tags[0]", "$.tags[1]", "$.tags"]); // ...but applied once
    assert.equal(s.streamId, "s1");
  } finally {
    await srv.close();
  }
});

test("fetch transport: a late joiner resumes from a saved position", async () => {
  const srv = await server((req, res) => {
    const after = Number(req.headers["last-event-id"].split(":")[1]);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(frames.slice(after).join(""));
  });
  try {
    const s = await new FieldStream(srv.url, { resume: "s1:0" }).start().done;
    assert.deepEqual(s.value, { name: "Ada", tags: ["x", 1], age: "9x" });
  } finally {
    await srv.close();
  }
});

test("fetch transport: stop() closes the connection and posts the stream id to stopUrl", async () => {
  let stopBody = null;
  let closed;
  const streamClosed = new Promise((r) => (closed = r));
  const srv = await server((req, res) => {
    if (req.url === "/stop") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        stopBody = JSON.parse(body);
        res.end("{}");
      });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(frames.slice(0, 3).join("")); // then quiet: a model thinking
    res.on("close", closed);
  });
  try {
    const s = new FieldStream(srv.url + "/stream", { stopUrl: srv.url + "/stop" });
    const got = new Promise((r) => s.on("field", r));
    s.start();
    await got;
    await s.stop();
    await streamClosed;
    assert.deepEqual(stopBody, { stream: "s1" });
    assert.equal(s.state, "stopped");
    assert.deepEqual(s.value, { name: "Ada" });
  } finally {
    await srv.close();
  }
});

test("fetch transport: without a store, an early close is an error and Stop sends nothing", async () => {
  const srv = await server((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(frame("field", { event: "field", path: "$.a", value: 1 }, "1")); // plain ids: not resumable
  });
  try {
    const errors = [];
    const s = new FieldStream(srv.url, { stopUrl: srv.url + "/stop" });
    s.on("error", (e) => errors.push(e.message));
    await s.start().done;
    assert.equal(s.state, "error");
    assert.deepEqual(errors, ["the connection closed early"]);
    assert.deepEqual(s.value, { a: 1 });
  } finally {
    await srv.close();
  }
});

test("fetch transport: a 4xx answer fails at once, a 5xx is retried", async () => {
  let calls = 0;
  const srv = await server((req, res) => {
    calls += 1;
    if (req.url === "/missing") {
      res.writeHead(404);
      res.end("no such stream");
    } else if (calls < 3) {
      res.writeHead(503);
      res.end();
    } else {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(frames.join(""));
    }
  });
  try {
    const missing = await new FieldStream(srv.url + "/missing").start().done;
    assert.equal(missing.state, "error");
    assert.match(missing.error.message, /HTTP 404: no such stream/);
    calls = 0;
    const ok = await new FieldStream(srv.url + "/x", { resume: "s1:0", retry: { delay: 1 } }).start().done;
    assert.equal(ok.state, "done");
    assert.equal(calls, 3);
  } finally {
    await srv.close();
  }
});

// A stream long enough to judge: 40 deltas of one string, then done and end.
const LONG = [
  ...Array.from({ length: 40 }, (_, i) => ["delta", { event: "delta", path: "$.text", text: `word${i} `.repeat(3) }]),
  ["done", { event: "done", value: { text: "..." } }],
  ["end", { event: "end" }],
].map(([k, d], i) => frame(k, d, `t1:${i + 1}`));

test("the buffering verdict: one burst after a silence, or a stream", async () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const srv = await server(async (req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    if (req.url === "/buffered") {
      await wait(700); // a proxy holding the whole answer, then sending it at once
      res.end(LONG.join(""));
      return;
    }
    for (const f of LONG) {
      res.write(f);
      await wait(2 + (BURST * 1000) / 8); // eight frames per BURST: never most of the bytes in one
    }
    res.end();
  });
  try {
    const verdicts = {};
    for (const path of ["/buffered", "/streamed"]) {
      const s = new FieldStream(srv.url + path);
      let emitted = null;
      s.on("timeline", (t) => (emitted = t));
      const warn = console.warn;
      console.warn = () => {};
      try {
        await s.start().done;
      } finally {
        console.warn = warn;
      }
      assert.equal(s.state, "done");
      assert.deepEqual(emitted, s.timeline());
      verdicts[path] = s.timeline().buffering;
      assert.ok(s.timeline().bytes > 512 && s.timeline().firstByte > 0);
    }
    assert.equal(verdicts["/buffered"].buffered, true, verdicts["/buffered"].message);
    assert.ok(verdicts["/buffered"].silence >= 0.5 && verdicts["/buffered"].message.includes("proxy"));
    assert.equal(verdicts["/streamed"].buffered, false, verdicts["/streamed"].message);
  } finally {
    await srv.close();
  }
});

test("the buffering verdict matches the Python rule on given reads", () => {
  assert.equal(bufferingVerdict([[0.2, 100]]).buffered, null); // too little
  assert.equal(bufferingVerdict([[2.6, 40000]]).buffered, true);
  assert.equal(bufferingVerdict([[0.2, 100], [0.21, 100000]]).buffered, null); // quick, no silence
  const streamed = Array.from({ length: 50 }, (_, i) => [0.3 + i * 0.05, 300]);
  assert.equal(bufferingVerdict(streamed).buffered, false);
});

test("a server timeline frame is kept apart from the client's own timeline", () => {
  const state = new StreamState();
  const seen = [];
  state.on("server-timeline", (r) => seen.push(r.first_field));
  state.on("timeline", () => seen.push("client"));
  assert.equal(state.apply("timeline", { event: "timeline", first_field: 0.86 }), false);
  assert.deepEqual(seen, [0.86]);
  assert.equal(state.serverTimeline.first_field, 0.86);
});
