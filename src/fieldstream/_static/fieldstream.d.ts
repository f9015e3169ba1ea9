// Type declarations of fieldstream.js (the browser client shipped in the Python package).

export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
export type PathPart = string | number;
export type Status = "typing" | "complete" | "invalid";
export type StreamStateName = "idle" | "connecting" | "streaming" | "reconnecting" | "done" | "error" | "stopped";

/** A pydantic error, as ``ValidationError.errors()`` lists it. */
export interface ValidationErrorItem {
  type: string;
  loc: PathPart[];
  msg: string;
  input?: JSONValue;
  [key: string]: unknown;
}

/** A frame's record: fieldstream's JSONL record (``event`` names its kind). */
export interface FrameRecord {
  event: string;
  path?: string;
  source?: string | null;
  [key: string]: unknown;
}

export interface DeltaEvent { path: string; text: string; source: string; record: FrameRecord }
export interface FieldEvent { path: string; value: JSONValue; source: string; record: FrameRecord }
export interface ItemEvent extends FieldEvent { index: number }
export interface InvalidEvent { path: string; value: JSONValue; errors: ValidationErrorItem[]; source: string; record: FrameRecord }
export interface DoneEvent { value: JSONValue; source: string; record: FrameRecord }
export interface EndRecord extends FrameRecord { event: "end"; reason?: "stopped" | "abandoned"; usage?: unknown }
export interface ErrorRecord extends FrameRecord { event: "error"; message: string; kind?: string; snapshot?: JSONValue }

export interface EventMap {
  start: FrameRecord;
  delta: DeltaEvent;
  field: FieldEvent;
  item: ItemEvent;
  invalid: InvalidEvent;
  done: DoneEvent;
  fault: ErrorRecord;
  error: ErrorRecord;
  end: EndRecord;
  change: { kind: string; record: FrameRecord };
  state: StreamStateName;
  reconnect: { attempt: number; lastEventId: string | null };
  stop: { stream: string | null };
  timeline: ClientTimeline;
  "server-timeline": FrameRecord;
}

export interface Target {
  source: string;
  value: JSONValue | undefined;
  status: Map<string, Status>;
  errors: Map<string, ValidationErrorItem[]>;
  info: FrameRecord | null;
}

export interface Frame { event: string; data: string; id: string | null }

export declare function parsePath(text: string): PathPart[];
export declare function formatPath(parts: readonly PathPart[]): string;
export declare function parseEventId(id: string | null | undefined): { stream: string; seq: number } | null;
export declare function isFinal(kind: string, record: FrameRecord): boolean;

export declare class SSEParser {
  feed(text: string): Frame[];
}

export declare class StreamState {
  readonly targets: Map<string, Target>;
  finished: boolean;
  end: EndRecord | null;
  error: ErrorRecord | null;
  /** the server's `timeline` record, when it sends one (fieldstream.with_timeline) */
  serverTimeline?: FrameRecord;
  /** The first target's value (a plain parser's document). */
  readonly value: JSONValue | undefined;
  target(source?: string): Target;
  status(path: string, source?: string): Status | undefined;
  errors(path: string, source?: string): ValidationErrorItem[] | undefined;
  on<K extends keyof EventMap>(name: K, fn: (event: EventMap[K]) => void): () => void;
  on(name: string, fn: (event: unknown) => void): () => void;
  apply(kind: string, record: FrameRecord): boolean;
}

export interface RetryOptions {
  /** reconnects in a row without a new frame before giving up (default 8) */
  attempts?: number;
  /** first delay in milliseconds, doubled each time (default 250) */
  delay?: number;
  /** longest delay in milliseconds (default 5000) */
  maxDelay?: number;
}

export interface FieldStreamOptions {
  method?: string;
  body?: BodyInit | null;
  headers?: Record<string, string>;
  credentials?: RequestCredentials;
  transport?: "fetch" | "eventsource";
  /** continue a resumable stream from this frame id ("<stream id>:<seq>"; ":0" for all of it) */
  resume?: string | null;
  /** where stop() posts {"stream": id} for a resumable stream */
  stopUrl?: string;
  retry?: RetryOptions;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
}

export interface BufferingVerdict {
  /** true: arrived at once after a silence; false: streamed; null: too little, or too quick, to tell */
  buffered: boolean | null;
  largestShare: number;
  silence: number;
  message: string;
}

export interface ClientTimeline {
  firstByte: number | null;
  firstField: number | null;
  bytes: number;
  reads: number;
  buffering: BufferingVerdict;
}

export declare const BURST: number;
export declare const BURST_SHARE: number;
export declare const SILENCE: number;
export declare function bufferingVerdict(reads: [number, number][]): BufferingVerdict;

export declare class FieldStream extends StreamState {
  constructor(url: string, options?: FieldStreamOptions);
  readonly url: string;
  readonly options: FieldStreamOptions;
  state: StreamStateName;
  streamId: string | null;
  lastEventId: string | null;
  readonly frameIds: (string | null)[];
  reconnects: number;
  /** [seconds since start(), bytes] per network read */
  readonly reads: [number, number][];
  /** the timing this page saw, with the buffering verdict (also emitted as "timeline" at the end) */
  timeline(): ClientTimeline;
  /** resolves with this stream once it is done, failed or stopped */
  readonly done: Promise<FieldStream>;
  start(): this;
  stop(): Promise<void>;
}

export declare function stream(url: string, options?: FieldStreamOptions): FieldStream;
