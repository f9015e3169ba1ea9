// Compiled with tsc --noEmit (tests/test_js.py): the client's declarations describe a real use.
import { FieldStream, stream, type FieldEvent, type JSONValue, type Status } from "../../src/fieldstream/_static/fieldstream.js";

interface Report {
  location: string;
  forecast: { day: string }[];
}

const s: FieldStream = new FieldStream("/stream", {
  method: "POST",
  body: JSON.stringify({ prompt: "weather in Lisbon" }),
  headers: { "Content-Type": "application/json" },
  stopUrl: "/stop",
  retry: { attempts: 5, delay: 200, maxDelay: 2000 },
});
const off: () => void = s.on("field", (e: FieldEvent) => console.log(e.path, e.value));
s.on("item", (e) => console.log(e.index + 1, e.value));
s.on("invalid", (e) => console.log(e.errors.map((err) => err.msg).join("; ")));
s.on("end", (e) => console.log(e.reason ?? "complete", e.usage));
s.on("state", (state) => console.log(state === "reconnecting"));
s.on("timeline", (t) => console.log(t.firstField, t.buffering.buffered === true ? t.buffering.message : "streamed"));
s.start();
const status: Status | undefined = s.status("$.location");
const partial = s.value as Partial<Report> | undefined;
console.log(status, partial?.location, s.streamId, s.lastEventId);
off();

async function main(): Promise<JSONValue | undefined> {
  const done = await stream("/stream", { transport: "eventsource", resume: "abc:0" }).done;
  if (done.state === "stopped") await done.stop();
  return done.value;
}
void main();
