// Reads one of fieldstream's protocol streams from a URL with that protocol's own npm package,
// and prints what the package made of it as JSON (tests/test_protocols.py compares it).
//   node protocols.mjs ai-sdk URL      the AI SDK's parseJsonEventStream + readUIMessageStream
//   node protocols.mjs ag-ui URL       AG-UI's HttpAgent (its SSE parser, verifier and state reducer)
//   node protocols.mjs json-patch URL  eventsource-parser's frames, fast-json-patch plus the append op
import { HttpAgent } from "@ag-ui/client";
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from "ai";
import { EventSourceParserStream } from "eventsource-parser/stream";
import fastJsonPatch from "fast-json-patch";

const [mode, url] = process.argv.slice(2);

async function aiSdk() {
  const response = await fetch(url);
  const chunks = [];
  const parsed = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema });
  const stream = parsed.pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) throw result.error; // as the SDK's chat transport does
        chunks.push(result.value.type);
        controller.enqueue(result.value);
      },
    }),
  );
  let message = null;
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) message = m;
  return { header: response.headers.get("x-vercel-ai-ui-message-stream"), chunks, message };
}

async function agUi() {
  const agent = new HttpAgent({ url, threadId: "t1" });
  const types = [];
  let runError = null;
  await agent.runAgent({ runId: "r1" }, {
    onEvent({ event }) {
      types.push(event.type);
    },
    onRunErrorEvent({ event }) {
      runError = event.message;
    },
  }).catch((err) => {
    runError ??= String(err?.message ?? err);
  });
  return { state: agent.state, types, runError };
}

async function jsonPatch() {
  const response = await fetch(url);
  const frames = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  let doc = null;
  const kinds = [];
  for await (const frame of frames) {
    kinds.push(frame.event ?? "message");
    if (frame.event !== "patch") continue;
    for (const op of JSON.parse(frame.data)) {
      if (op.op === "append") {
        // the documented extension: the string at path grows by value
        const current = fastJsonPatch.getValueByPointer(doc, op.path);
        if (typeof current !== "string") throw new Error(`append to a non-string at ${op.path}`);
        doc = fastJsonPatch.applyOperation(doc, { op: "replace", path: op.path, value: current + op.value }, true, true).newDocument;
      } else {
        doc = fastJsonPatch.applyOperation(doc, op, true, true).newDocument;
      }
    }
  }
  return { doc, kinds };
}

const run = { "ai-sdk": aiSdk, "ag-ui": agUi, "json-patch": jsonPatch }[mode];
if (!run) {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(await run()));
