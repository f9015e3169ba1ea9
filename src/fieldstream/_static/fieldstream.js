// fieldstream.js: the browser side of fieldstream's event streams.
//
// A plain ES module with no dependencies and no build step; it ships inside the Python
// package (fieldstream.CLIENT_DIR) with its TypeScript declarations (fieldstream.d.ts).
//
// Theory of operation: frames arrive as server-sent events whose data is fieldstream's
// JSONL record (event: start | delta | field | invalid | done | error | end).  StreamState
// applies records, sans-IO: it keeps each target's live value and the status of each path
// (typing, complete, invalid with pydantic's errors) and calls back.  FieldStream is the
// I/O shell: it reads frames over fetch (any method, body and headers) or EventSource,
// and when the connection drops before the end it reconnects with Last-Event-ID; frame
// ids of a resumable stream are "<stream id>:<seq>", so a frame that was already applied
// is never applied twice.  stop() closes the connection and, for a resumable stream, sends
// the explicit stop request (the server cannot tell an aborted request from a dropped one).

/** "$.a[0]["b c"]" -> ["a", 0, "b c"] (the text form of fieldstream's paths). */
export function parsePath(text) {
  if (typeof text !== "string" || text[0] !== "$") throw new TypeError(`not a fieldstream path: ${text}`);
  const out = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < text.length) {
    const m = re.exec(text);
    if (!m) throw new TypeError(`not a fieldstream path: ${text}`);
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(m[3])));
  }
  return out;
}

/** ["a", 0, "b c"] -> "$.a[0]["b c"]". */
export function formatPath(parts) {
  let text = "$";
  for (const p of parts) {
    if (typeof p === "number") text += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) text += "." + p;
    else text += `[${JSON.stringify(p)}]`;
  }
  return text;
}

/** "<stream id>:<seq>" -> {stream, seq}; null for an id that is not a resumable one. */
export function parseEventId(id) {
  const m = /^([A-Za-z0-9_-]{1,128}):(\d{1,18})$/.exec(id ?? "");
  return m ? { stream: m[1], seq: Number(m[2]) } : null;
}

/** An incremental server-sent events parser (the WHATWG rules): feed text, get frames. */
export class SSEParser {
  constructor() {
    this._buffer = "";
    this._event = "";
    this._data = [];
    this._id = null;
    this._sawCR = false;
  }

  /** Frames completed by this text: [{event, data, id}] (id: the last id seen, or null). */
  feed(text) {
    const frames = [];
    let buffer = this._buffer + text;
    if (this._sawCR && buffer.startsWith("\n")) buffer = buffer.slice(1); // \r\n split across chunks
    this._sawCR = false;
    let start = 0;
    for (;;) {
      const cr = buffer.indexOf("\r", start);
      const lf = buffer.indexOf("\n", start);
      if (cr < 0 && lf < 0) break;
      let end, next;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr + 1 < buffer.length) next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
        else { next = cr + 1; this._sawCR = true; }
      } else {
        end = lf;
        next = lf + 1;
      }
      this._line(buffer.slice(start, end), frames);
      start = next;
    }
    this._buffer = buffer.slice(start);
    return frames;
  }

  _line(line, frames) {
    if (line === "") {
      if (this._data.length) frames.push({ event: this._event || "message", data: this._data.join("\n"), id: this._id });
      this._event = "";
      this._data = [];
      return;
    }
    if (line[0] === ":") return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "event") this._event = value;
    else if (field === "data") this._data.push(value);
    else if (field === "id" && !value.includes("\0")) this._id = value;
  }
}

function setAt(target, path, update) {
  if (path.length === 0) {
    target.value = update(target.value);
    return;
  }
  if (target.value === undefined || target.value === null || typeof target.value !== "object")
    target.value = typeof path[0] === "number" ? [] : {};
  let node = target.value;
  for (let i = 0; i < path.length - 1; i++) {
    if (node[path[i]] === undefined || node[path[i]] === null || typeof node[path[i]] !== "object")
      node[path[i]] = typeof path[i + 1] === "number" ? [] : {};
    node = node[path[i]];
  }
  const last = path[path.length - 1];
  node[last] = update(node[last]);
}

/** Whether an error record ends the stream (a target's fault carries a "source" key and does not). */
export function isFinal(kind, record) {
  return kind === "end" || (kind === "error" && !(record && "source" in record));
}

/** The live state of one stream, built from fieldstream's records (sans-IO). */
export class StreamState {
  constructor() {
    /** source ("" for a plain parser's stream) -> {value, status: Map(path -> status), errors: Map(path -> errors), source} */
    this.targets = new Map();
    this._listeners = new Map();
    this.finished = false;
    this.end = null;
    this.error = null;
  }

  /** The value of the stream's first target (for a plain parser's stream, the document). */
  get value() {
    const first = this.targets.values().next();
    return first.done ? undefined : first.value.value;
  }

  /** A target by source ("" for a plain parser's stream). */
  target(source = "") {
    let t = this.targets.get(source);
    if (!t) {
      t = { source, value: undefined, status: new Map(), errors: new Map(), info: null };
      this.targets.set(source, t);
    }
    return t;
  }

  /** "typing" | "complete" | "invalid" | undefined for a path ("$.a[0]") of a target. */
  status(path, source) {
    return this._find(source)?.status.get(path);
  }

  /** pydantic's errors for an invalid path, else undefined. */
  errors(path, source) {
    return this._find(source)?.errors.get(path);
  }

  _find(source) {
    if (source !== undefined) return this.targets.get(source);
    return this.targets.values().next().value;
  }

  /** Listen to "start" | "delta" | "field" | "item" | "invalid" | "done" | "fault" | "error" | "end" | "change" | ...; returns an unsubscribe function. */
  on(name, fn) {
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  _emit(name, payload) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        // A listener's bug must not break the stream: report it as an uncaught error.
        if (typeof globalThis.reportError === "function") globalThis.reportError(err);
        else
          queueMicrotask(() => {
            throw err;
          });
      }
    }
  }

  /** Apply one record (the data of a frame named `kind`). Returns whether it ended the stream. */
  apply(kind, record) {
    const source = record.source ?? "";
    if (kind === "start") {
      this.target(source).info = record;
      this._emit("start", record);
    } else if (kind === "delta") {
      const t = this.target(source);
      setAt(t, parsePath(record.path), (old) => (typeof old === "string" ? old : "") + record.text);
      t.status.set(record.path, "typing");
      this._emit("delta", { path: record.path, text: record.text, source, record });
    } else if (kind === "field") {
      const t = this.target(source);
      const parts = parsePath(record.path);
      setAt(t, parts, () => record.value);
      t.status.set(record.path, "complete");
      const payload = { path: record.path, value: record.value, source, record };
      this._emit("field", payload);
      if (typeof parts[parts.length - 1] === "number") this._emit("item", { ...payload, index: parts[parts.length - 1] });
    } else if (kind === "invalid") {
      const t = this.target(source);
      if ("value" in record) setAt(t, parsePath(record.path), () => record.value);
      t.status.set(record.path, "invalid");
      t.errors.set(record.path, record.errors ?? []);
      this._emit("invalid", { path: record.path, value: record.value, errors: record.errors ?? [], source, record });
    } else if (kind === "done") {
      const t = this.target(source);
      t.value = record.value;
      if (t.status.get("$") !== "invalid") t.status.set("$", "complete");
      for (const [path, status] of t.status) if (status === "typing") t.status.set(path, "complete");
      this._emit("done", { value: record.value, source, record });
    } else if (kind === "error") {
      if (isFinal(kind, record)) {
        this.finished = true;
        this.error = record;
        this._emit("error", record);
      } else {
        this._emit("fault", record);
      }
    } else if (kind === "end") {
      this.finished = true;
      this.end = record;
      this._emit("end", record);
    } else if (kind === "timeline") {
      // the server's view of the upstream stream (docs/timeline.md); the client's own is timeline()
      this.serverTimeline = record;
      this._emit("server-timeline", record);
    } else {
      this._emit(kind, record);
    }
    this._emit("change", { kind, record });
    return isFinal(kind, record);
  }
}

const FRAME_KINDS = ["start", "delta", "field", "invalid", "done", "error", "end", "message", "repair", "timeline"];

// The buffering verdict, the same rule as fieldstream.Timeline.buffering() (docs/timeline.md):
// most of the bytes within BURST seconds, after SILENCE seconds of nothing, means something
// between the model and this page held the stream.
export const BURST = 0.1;
export const BURST_SHARE = 0.8;
export const SILENCE = 0.5;
const MIN_BYTES = 512;

/** The verdict on reads given as [seconds since the request, bytes] pairs, in order. */
export function bufferingVerdict(reads) {
  const total = reads.reduce((sum, [, n]) => sum + n, 0);
  if (total < MIN_BYTES) return { buffered: null, largestShare: 1, silence: 0, message: "too little data to tell" };
  let best = 0, bestStart = 0, window = 0, first = 0;
  for (const [t, n] of reads) {
    window += n;
    while (t - reads[first][0] > BURST) window -= reads[first++][1];
    if (window > best) [best, bestStart] = [window, first];
  }
  const silence = reads[bestStart][0] - (bestStart ? reads[bestStart - 1][0] : 0);
  const share = best / total;
  const pct = `${Math.round(share * 100)}%`;
  if (share >= BURST_SHARE && silence >= SILENCE) {
    const message =
      `buffered: ${pct} of ${total} bytes arrived within ${BURST} s after ${silence.toFixed(2)} s of silence; ` +
      "usual causes: a reverse proxy buffering the response, compression on text/event-stream, a CDN, " +
      "or a server framework that collects the body";
    return { buffered: true, largestShare: share, silence, message };
  }
  if (share >= BURST_SHARE)
    return { buffered: null, largestShare: share, silence, message: `arrived all at once, too quickly to tell` };
  return { buffered: false, largestShare: share, silence, message: `streamed: ${reads.length} reads` };
}

/**
 * A fieldstream event stream, live: new FieldStream(url, options).start().
 *
 * options: method, body, headers, credentials (fetch); transport "fetch" (default) or
 * "eventsource"; resume (a "<stream id>:<seq>" to continue from, e.g. after a page reload);
 * stopUrl (where stop() posts {"stream": id} for a resumable stream); retry {attempts, delay,
 * maxDelay} (milliseconds); fetch and EventSource (to inject implementations).
 */
export class FieldStream extends StreamState {
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = options;
    /** "idle" | "connecting" | "streaming" | "reconnecting" | "done" | "error" | "stopped" */
    this.state = "idle";
    this.lastEventId = options.resume ?? null;
    const resumed = parseEventId(this.lastEventId);
    this.streamId = resumed?.stream ?? null;
    this._seq = resumed?.seq ?? 0;
    /** ids of every frame received, in order (a skipped duplicate included); for checks */
    this.frameIds = [];
    this.reconnects = 0;
    /** [seconds since start(), bytes] per network read (per frame over EventSource), for timeline() */
    this.reads = [];
    this._t0 = null;
    this._firstField = null;
    this._abort = null;
    this._source = null;
    this.done = new Promise((resolve) => (this._resolve = resolve));
  }

  /** Open the stream (once); returns this. */
  start() {
    if (this.state !== "idle") return this;
    this._t0 = performance.now();
    this._setState("connecting");
    if ((this.options.transport ?? "fetch") === "eventsource") this._runEventSource();
    else this._runFetch();
    return this;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", state);
  }

  _finish(state) {
    if (["done", "error", "stopped"].includes(this.state)) return;
    this._setState(state);
    const timeline = this.timeline();
    this._emit("timeline", timeline);
    if (timeline.buffering.buffered) console.warn(`fieldstream: ${timeline.buffering.message}`);
    this._abort?.abort();
    this._source?.close();
    this._resolve(this);
  }

  /** Handle one frame; false when it was a duplicate. */
  _frame(kind, data, id) {
    this.frameIds.push(id);
    const position = parseEventId(id);
    if (position) {
      if (this.streamId === null) this.streamId = position.stream;
      if (position.stream === this.streamId && position.seq <= this._seq) return false; // already applied
      this._seq = position.seq;
    }
    if (id !== null && id !== undefined) this.lastEventId = id;
    if (this.state !== "streaming") this._setState("streaming");
    const record = JSON.parse(data);
    if (kind === "field" && this._firstField === null && record.path !== "$") this._firstField = this._now();
    const final = this.apply(kind, record);
    if (final) this._finish(kind === "end" ? "done" : "error");
    return true;
  }

  _now() {
    return (performance.now() - (this._t0 ?? performance.now())) / 1000;
  }

  /**
   * What this page saw of the stream's timing: first byte and first field (seconds since
   * start()), bytes and reads, and the buffering verdict from the reads' arrival times.
   */
  timeline() {
    return {
      firstByte: this.reads.length ? this.reads[0][0] : null,
      firstField: this._firstField,
      bytes: this.reads.reduce((sum, [, n]) => sum + n, 0),
      reads: this.reads.length,
      buffering: bufferingVerdict(this.reads),
    };
  }

  _retryDelay(attempt) {
    const retry = this.options.retry ?? {};
    const base = retry.delay ?? 250;
    return Math.min(base * 2 ** attempt, retry.maxDelay ?? 5000);
  }

  async _runFetch() {
    const doFetch = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    const attempts = this.options.retry?.attempts ?? 8;
    let failures = 0;
    while (!this.finished && this.state !== "stopped") {
      this._abort = new AbortController();
      const headers = { Accept: "text/event-stream", ...(this.options.headers ?? {}) };
      if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
      let progressed = false;
      try {
        const response = await doFetch(this.url, {
          method: this.options.method ?? "GET",
          body: this.options.body,
          headers,
          credentials: this.options.credentials,
          signal: this._abort.signal,
          cache: "no-store",
        });
        if (!response.ok) {
          const text = await response.text().catch(() => "");
          const fatal = response.status < 500;
          const message = `HTTP ${response.status}${text ? ": " + text : ""}`;
          if (fatal) return this._fail(message);
          throw new Error(message);
        }
        const sid = response.headers.get("x-fieldstream-stream");
        if (sid && this.streamId === null) this.streamId = sid;
        const parser = new SSEParser();
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          this.reads.push([this._now(), value.byteLength]);
          for (const f of parser.feed(decoder.decode(value, { stream: true }))) {
            if (this._frame(f.event, f.data, f.id)) progressed = true;
            if (this.finished) {
              reader.cancel().catch(() => {});
              return;
            }
          }
        }
      } catch (err) {
        if (this.state === "stopped" || this.finished) return;
        if (err?.name === "AbortError") return;
        if (err instanceof SyntaxError) return this._fail(`a frame is not JSON: ${err.message}`);
      }
      if (this.finished || this.state === "stopped") return;
      // The connection closed before the end: resume, if the stream can be resumed.
      if (this.lastEventId === null && this.streamId !== null) this.lastEventId = `${this.streamId}:0`;
      if (!parseEventId(this.lastEventId)) return this._fail("the connection closed early");
      if (progressed) failures = 0;
      if (failures >= attempts) return this._fail(`the connection closed early; ${attempts} reconnects failed`);
      this._setState("reconnecting");
      this.reconnects += 1;
      this._emit("reconnect", { attempt: failures + 1, lastEventId: this.lastEventId });
      await new Promise((r) => setTimeout(r, this._retryDelay(failures)));
      failures += 1;
    }
  }

  _runEventSource() {
    const ES = this.options.EventSource ?? globalThis.EventSource;
    let url = this.url;
    if (this.lastEventId !== null) {
      // EventSource cannot set Last-Event-ID on its first request: the server reads the query parameter too.
      url += (url.includes("?") ? "&" : "?") + "last_event_id=" + encodeURIComponent(this.lastEventId);
    }
    const source = new ES(url, { withCredentials: this.options.credentials === "include" });
    this._source = source;
    const handle = (kind) => (e) => {
      if (kind === "error" && !(typeof e.data === "string")) {
        // the connection's own error: EventSource reconnects by itself (with Last-Event-ID) unless CLOSED
        if (this.finished || this.state === "stopped") return;
        if (source.readyState === 2) this._fail("the connection failed");
        else {
          this.reconnects += 1;
          this._setState("reconnecting");
          this._emit("reconnect", { attempt: this.reconnects, lastEventId: this.lastEventId });
        }
        return;
      }
      try {
        this.reads.push([this._now(), e.data.length]); // EventSource hides reads: one per frame
        this._frame(kind, e.data, e.lastEventId || null);
      } catch (err) {
        this._fail(`a frame is not JSON: ${err.message}`);
      }
    };
    for (const kind of FRAME_KINDS) source.addEventListener(kind, handle(kind));
  }

  _fail(message) {
    if (this.finished) return;
    this.finished = true;
    this.error = { event: "error", message };
    this._emit("error", this.error);
    this._finish("error");
  }

  /**
   * Stop: close the connection now, and for a resumable stream (with stopUrl) ask the server
   * to close the upstream call.  Resolves once the stop request is answered.
   */
  async stop() {
    if (["done", "error", "stopped"].includes(this.state)) return;
    this.finished = true;
    this._finish("stopped");
    this._emit("stop", { stream: this.streamId });
    const stopUrl = this.options.stopUrl;
    if (stopUrl && this.streamId) {
      const doFetch = this.options.fetch ?? globalThis.fetch.bind(globalThis);
      await doFetch(stopUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(this.options.headers ?? {}) },
        body: JSON.stringify({ stream: this.streamId }),
        credentials: this.options.credentials,
        keepalive: true,
      });
    }
  }
}

/** Open a stream in one call: stream(url, options) is new FieldStream(url, options).start(). */
export function stream(url, options = {}) {
  return new FieldStream(url, options).start();
}
