"""StreamDecoder: raw provider bytes in, stream events out, no I/O.

Theory of operation
-------------------
Three layers, each fed as bytes arrive and none waiting for more than it needs,
each in its own module:

1. *Framing* (:mod:`._framing`): bytes to payloads.  SSE, NDJSON, a JSON array of
   chunks, AWS event-stream messages, an HTTP error body, chosen from the first
   non-blank byte; ``[DONE]`` is an end marker, not a payload.
2. *Provider steps* (:mod:`._providers`): the format named by ``format=`` or
   detected from the first payload that tells (its ``type``, ``object`` or
   top-level keys); a small pure class per format turns each payload into typed
   steps (``Text``, ``Open``, ``Finish``, ``Usage``, ...: :mod:`._providers._steps`).
   A whole (non-streamed) response is first rewritten as the payloads of the
   stream that would have carried it (``streamed`` is then ``False``).  A
   payload or step of the wrong shape is a :class:`Malformed` fault; the other
   steps still apply.
3. *Targets* (:mod:`._targets`): each step addresses a target by :class:`Source`.
   A JSON target owns a :class:`Parser` fed with the fragments as they come; a
   text target passes them on as :class:`TextDelta`.

This module wires them: it is the framing's sink, hands payloads to the provider,
and applies each step to the stream's state (usage, finish reasons, model, the
end marker) and to its targets, one handler per step class (``_APPLY``).  The
commonest step, text for the target of the step before, skips the table.

Every target ends once, with :class:`TargetCompleted` or a :class:`Fault`
carrying its last good snapshot.  ``close()`` ends the open targets (cut when
the provider's end marker never came) and returns :class:`StreamCompleted`
last.  Input faults never raise from ``feed()``/``close()``; they are events,
and :meth:`StreamDecoder.raise_for_faults` turns them into a :class:`StreamError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from ._errors import StreamError, UsageError
from ._framing import Framing
from ._parser import Parser
from ._providers import (
    FORMAT_CHOICES,
    Close,
    End,
    Ended,
    Error,
    Finish,
    Meta,
    Open,
    Refusal,
    Step,
    StreamFormat,
    Text,
    Usage,
    detect,
    error_step,
    make_provider,
    unstreamed,
)
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream_events import (
    ErrorReceived,
    Fault,
    Malformed,
    Refused,
    Source,
    StreamCompleted,
    StreamEvent,
)
from ._targets import Target, Targets
from ._usage import usage_estimate

__all__ = ["DEFAULT_MAX_TARGETS", "ContentMode", "StreamDecoder", "StreamFormat", "Target"]

#: Most targets one stream may open (choices, tool calls, blocks); later ones are refused.
DEFAULT_MAX_TARGETS = 10_000

ContentMode = Literal["auto", "json", "text"]
_CONTENT_MODES = get_args(ContentMode)

# What a provider or a step may raise on a payload of the wrong shape (valid JSON, or any value
# given to feed_payload): reported as a Malformed fault, never raised.  RecursionError: nesting
# deeper than Python's recursion limit, met by json.loads/json.dumps.
_FOREIGN = (ArithmeticError, AttributeError, LookupError, RecursionError, TypeError, ValueError)


class StreamDecoder:
    """Decode a provider's streamed response body into per-target events.

    >>> d = StreamDecoder()
    >>> events = d.feed(b'data: {"choices":[{"index":0,"delta":{"content":"{\\\\"a\\\\": 1}"}}]}\\n\\n')
    >>> events
    [TargetStarted(Source('choices[0]', content)), TargetEvent(choices[0], ValueCompleted($.a, 1)), TargetEvent(choices[0], ValueCompleted($, {'a': 1})), TargetCompleted(choices[0], {'a': 1})]
    >>> d.feed(b'data: [DONE]\\n\\n')
    []
    >>> d.close()
    [StreamCompleted(finish_reasons={}, usage=None)]

    ``format``: ``"auto"`` (detected from the bytes) or a format name (``FORMATS`` in
    :mod:`._providers`): ``"openai-chat"``, ``"openai-responses"``, ``"anthropic"``,
    ``"gemini"``, ``"ollama"``, ``"bedrock"``.
    ``schema``: a type for structured-output content, given to ``Parser(schema)``.
    ``tools``: tool name -> type for that tool's arguments.
    ``content``: ``"auto"`` (JSON when its first non-blank character is ``{`` or
    ``[``, else text), ``"json"`` or ``"text"``.
    ``status_code``: the HTTP status; at 400 and above the body is read as an
    error body and reported as :class:`ErrorReceived`.
    ``content_type``: the response's content type, where the transport knows it
    (``application/vnd.amazon.eventstream`` chooses the binary event-stream
    framing without waiting for the first bytes); may be set until the first ``feed()``.
    ``max_event_size``: the longest SSE line/message, NDJSON line or event-stream message accepted
    (and the longest error body kept); ``max_targets``: the most targets kept
    (``DEFAULT_MAX_TARGETS``); beyond either, a :class:`Malformed` fault.
    Other keyword options go to every :class:`Parser` (``max_depth``, ``lenient``, ...).
    """

    def __init__(
        self,
        format: StreamFormat = "auto",
        *,
        schema: Any = None,
        tools: Mapping[str, Any] | None = None,
        content: ContentMode = "auto",
        status_code: int | None = None,
        content_type: str | None = None,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_targets: int = DEFAULT_MAX_TARGETS,
        **parser_options: Any,
    ) -> None:
        if format not in FORMAT_CHOICES:
            raise UsageError(f"format must be one of {', '.join(map(repr, FORMAT_CHOICES))}; got {format!r}")
        if content not in _CONTENT_MODES:
            raise UsageError(f"content must be one of {', '.join(map(repr, _CONTENT_MODES))}; got {content!r}")
        if parser_options or schema is not None or tools:  # (a stream opens per request: the plain case pays nothing)
            for forbidden in ("multiple", "prose"):
                if forbidden in parser_options:
                    raise UsageError(
                        f"{forbidden}= does not apply to provider streams (each target holds one document)"
                    )
            try:  # reject unknown or bad options (and unusable schemas) now, not mid-stream
                if parser_options:
                    Parser(**parser_options)
                for probe in (schema, *(tools or {}).values()):
                    if probe is not None:
                        Parser(probe, **parser_options)
            except TypeError as exc:
                raise UsageError(f"unknown parser option: {exc}") from None
            except ImportError as exc:
                raise UsageError(f"a schema needs pydantic: pip install 'fieldstream[pydantic]' ({exc})") from None
        if max_event_size is not DEFAULT_MAX_EVENT_SIZE or max_targets is not DEFAULT_MAX_TARGETS:
            for name, limit in (("max_event_size", max_event_size), ("max_targets", max_targets)):
                if type(limit) is not int or limit < 1:
                    raise UsageError(f"{name} must be a positive int, got {limit!r}")
        self.max_targets = max_targets
        self.schema = schema
        self.tools = dict(tools) if tools else {}
        self.content = content
        self.status_code = status_code
        self.content_type = content_type
        self.max_event_size = max_event_size
        self.parser_options = parser_options
        #: Every fault emitted so far.
        self.faults: list[Fault] = []
        self._targets = Targets(
            schema=schema,
            tools=self.tools,
            content=content,
            parser_options=parser_options,
            max_targets=max_targets,
            faults=self.faults,
        )
        #: Every target seen so far, by source (a source equals its path string).
        self.targets: dict[Source, Target] = self._targets.table
        self._text = self._targets.text  # the hot path's one call per text step
        #: Usage, merged across chunks; finish reasons by scope; model and response id.
        self.usage: dict[str, Any] | None = None
        self.finish_reasons: dict[str, Any] = {}
        self.model: str | None = None
        self.response_id: str | None = None
        self._format: str | None = None if format == "auto" else format
        self._provider: Any = None if format == "auto" else make_provider(format)
        self._framing = Framing(self, max_event_size)
        self._feed_framing = self._framing.feed  # (bound once: feed() is the hot path)
        self._payloads = 0  # payloads decoded
        self._recognized = False  # some payload told the provider something beyond model and id
        #: False when the body was one whole (non-streamed) response, decoded as if streamed.
        self.streamed = True
        self._last: tuple[Any, Target | None] = (None, None)  # the last step's source and its target
        self._ended = False
        self._errored = False
        self._closed = False
        self._result: StreamCompleted | None = None
        self._first: Any = None  # the first payload (named by a fault when none matched)

    # -- public API ------------------------------------------------------

    @property
    def format(self) -> str | None:
        """The provider format (given, or detected once a payload told; ``None`` before)."""
        return self._format

    @property
    def result(self) -> StreamCompleted:
        """The :class:`StreamCompleted` event (after ``close()``): usage, finish reasons, values."""
        if self._result is None:
            raise UsageError("result is known after close()")
        return self._result

    @property
    def framing(self) -> str | None:
        """How the body is framed: ``"sse"``, ``"ndjson"``, ``"json"`` (one whole document),
        ``"json-array"``, ``"eventstream"``, ``"error-body"``, ``"text"`` or ``"payloads"``
        (fed with ``feed_payload``); ``None`` until the first non-blank byte."""
        return self._framing.kind

    def feed(self, data: bytes | bytearray | memoryview) -> list[StreamEvent]:
        """Decode the next bytes of the body (split anywhere) and return the events they completed."""
        if self._closed:
            raise UsageError("feed() after close(): create a new StreamDecoder for a new stream")
        out: list[StreamEvent] = []
        self._feed_framing(data, out)
        return out

    def feed_payload(self, payload: Any, event: str | None = None) -> list[StreamEvent]:
        """Decode one payload that was already framed and parsed (an SDK chunk as a dict).

        ``payload`` is what one SSE message's data or one NDJSON line holds, as
        plain JSON values (``chunk.model_dump()`` of an SDK object); ``event`` the
        SSE event name, if any.  Use it instead of :meth:`feed`, not with it.
        A value that is not plain JSON (a set, bytes, an SDK object, a non-``str``
        key) is reported as one :class:`Malformed` fault, and nothing of it applies.
        An SDK consumes ``[DONE]`` itself: say ``close(ended=True)`` when its
        iterator finished normally.
        """
        if self._closed:
            raise UsageError("feed_payload() after close(): create a new StreamDecoder for a new stream")
        framing = self._framing
        if framing.kind not in (None, "payloads"):
            raise UsageError(f"feed_payload() after feed(): this decoder reads {framing.kind} bytes")
        framing.kind = "payloads"
        out: list[StreamEvent] = []
        wrong = _not_plain_json(payload)
        if wrong is not None or not (event is None or isinstance(event, str)):
            # A value that no JSON text decodes to (an SDK object, a set, bytes): reported whole.
            what = wrong or f"an event name of type {type(event).__name__}"
            self._fault(
                Malformed(None, f"feed_payload() takes plain JSON values; got {what}", None, _dump(payload)), out
            )
            return out
        self._payload(payload, event, out)
        return out

    def close(self, *, cancelled: bool = False, ended: bool | None = None) -> list[StreamEvent]:
        """End the input: flush the framing, end every open target, return :class:`StreamCompleted` last.

        ``cancelled=True`` says the caller stopped reading (the user hit "stop"):
        open targets end as :class:`Truncated` with reason ``"cancelled"``.

        The stream *ended normally* when the provider's end marker arrived (``[DONE]``,
        ``message_stop``, ``response.completed``, a finish reason, Ollama's ``done``):
        open targets then complete, and ``StreamCompleted.complete`` is true; otherwise
        they are cut (:class:`Truncated`, reason ``"eof"``).  ``ended=True`` says the
        transport saw the end although no payload did: an SDK iterator that consumed
        ``[DONE]`` itself, fed with :meth:`feed_payload` (some OpenAI-compatible
        providers send no finish reason).  ``ended=False`` says it did not end normally.
        """
        if self._closed:
            raise UsageError("close() called twice")
        if ended not in (None, True, False):
            raise UsageError(f"ended must be True, False or None, got {ended!r}")
        self._closed = True
        out: list[StreamEvent] = []
        self._framing.close(out)
        if self._provider is not None:
            for step in self._provider.end():
                self._apply_safely(step, None, out)
        if ended is not None:
            self._ended = ended
        if self._payloads and not self._recognized and not self.faults:
            # Payloads came, but none meant anything to the provider: a wrong format=, or no
            # provider's stream at all.  Saying "complete" with nothing in it would be false.
            named = f"format={self._format!r}" if self._format else "any provider's format"
            seen = detect(self._first, None) if self._first is not None else None
            hint = f"; the first looks like {seen!r}" if seen and seen != self._format else ""
            message = f"none of the {self._payloads} payload(s) matched {named}{hint}"
            self._fault(Malformed(None, message, None, _dump(self._first)), out)
            self._ended = False
        if cancelled:
            reason, cut = "cancelled", True
        elif self._errored:
            reason, cut = "error", True
        elif self._ended:
            reason, cut = "incomplete", False
        else:
            reason, cut = "eof", True
        still_open = [target for target in self.targets.values() if target.open]
        for target in still_open:
            self._targets.end(target, reason, cut, out)
        values = {t.source.path: t.value for t in self.targets.values() if t.done}
        complete = self._ended and not self._errored and not (cancelled and still_open)
        self._result = StreamCompleted(
            usage=self.usage,
            finish_reasons=dict(self.finish_reasons),
            model=self.model,
            response_id=self.response_id,
            format=self._format,
            complete=complete,
            values=values,
            streamed=self.streamed,
            usage_estimate=None if complete and _counts_output(self.usage) else self._usage_estimate(),
        )
        out.append(self._result)
        self._framing.detach()
        return out

    def _usage_estimate(self) -> dict[str, Any]:
        # What the model delivered, for billing a stream whose final usage never came.
        targets = self.targets.values()
        names = [t.source.name for t in targets if t.source.kind == "tool_call"]
        return usage_estimate((t.raw for t in targets), names)

    def raise_for_faults(self) -> None:
        """Raise :class:`StreamError` for the first fault seen (with its snapshot and raw text), if any."""
        if not self.faults:
            return
        fault = self.faults[0]
        where = f" in {fault.source.path}" if fault.source is not None else ""
        error = StreamError(
            f"{type(fault).__name__}{where}: {fault.message}",
            snapshot=fault.snapshot,
            raw=fault.raw,
            provider_message=fault.message if isinstance(fault, (ErrorReceived, Refused)) else None,
            status_code=fault.status_code if isinstance(fault, ErrorReceived) else None,
        )
        error.fault = fault  # type: ignore[attr-defined]
        raise error

    def __repr__(self) -> str:
        return f"<StreamDecoder format={self._format} framing={self.framing} targets={len(self.targets)}>"

    # -- the framing's sink ------------------------------------------------

    def _done(self) -> None:
        self._ended = True  # [DONE]: the end marker; not a step (it tells nothing of the format)

    def _fault(self, fault: Fault, out: list[StreamEvent]) -> None:
        self.faults.append(fault)
        out.append(fault)

    def _payload(self, payload: Any, event: str | None, out: list[StreamEvent]) -> bool:
        """Apply one payload; ``True`` when its one step was text for the target of the step
        before (the framing may then learn it as a repeat: see ``_repeat``)."""
        self._payloads += 1
        provider = self._provider
        if self._payloads == 1:  # a whole (non-streamed) response is the one payload of its body
            self._first = payload
            try:
                whole = unstreamed(payload, self._format)
            except _FOREIGN:
                whole = None  # not a whole response's shape after all: the provider reports it
            if whole is not None:  # a whole response (the request did not ask for a stream)
                self.streamed = False
                self._format = self._format or whole[0]
                for part in whole[1]:
                    self._payload(part, None, out)
                return False
        if provider is None:
            format = detect(payload, event)
            if format is None:
                if isinstance(payload, dict) and (
                    "error" in payload or payload.get("type") == "error" or event == "error"
                ):
                    self._apply_safely(error_step(payload), payload, out)
                return False  # a ping or keep-alive before the first telling payload
            self._format = format
            provider = self._provider = make_provider(format)
        try:
            steps = provider.step(payload, event)
        except _FOREIGN as exc:
            # Providers read untrusted JSON: a payload of the wrong shape is reported, not raised.
            self._unexpected(payload, exc, out)
            return False
        direct = 0  # text steps for the target of the step before
        for step in steps:
            cls = type(step)
            if cls is Text:  # the commonest step: text for the target of the step before
                source, text = step
                last, target = self._last
                if source is last and target is not None and type(text) is str:
                    self._text(target, text, out)
                    direct += 1
                    continue
            try:  # _apply_safely, inlined
                if cls is not Meta:
                    self._recognized = True
                    self._first = None  # (kept only to name a stream that nothing matched)
                _APPLY[cls](self, step, out)
            except _FOREIGN as exc:
                self._unexpected(payload, exc, out)
        return direct == 1 == len(steps)

    def _repeat(self, source: Source, text: str, out: list[StreamEvent]) -> bool:
        """A payload that repeats a learned one with ``text`` (see ``_repeat``), as ``_payload``
        would apply it; ``False`` (nothing done) when ``source`` is no longer the last target."""
        last, target = self._last
        if source is not last or target is None:
            return False
        self._payloads += 1
        self._text(target, text, out)
        return True

    def _leaf(self, payload: Any, event: str | None) -> tuple[Source, str, tuple[str, ...]] | None:
        """The provider's ``leaf(payload, event)``: whether a payload may be learned as a repeat."""
        leaf = getattr(self._provider, "leaf", None)
        return leaf(payload, event) if leaf is not None else None

    def _apply_safely(self, step: Step, payload: Any, out: list[StreamEvent]) -> None:
        # One step of a wrong shape (a list where a name or usage belongs) is reported and
        # skipped; the other steps of the payload still apply, so nothing else is lost.
        try:
            self._apply(step, out)
        except _FOREIGN as exc:
            self._unexpected(payload, exc, out)

    def _unexpected(self, payload: Any, exc: Exception, out: list[StreamEvent]) -> None:
        message = f"unexpected {self._format or 'provider'} payload ({type(exc).__name__}: {str(exc)[:300]})"
        self._fault(Malformed(None, message, None, _dump(payload), exc), out)

    # -- steps -------------------------------------------------------------

    def _apply(self, step: Step, out: list[StreamEvent]) -> None:
        if type(step) is not Meta:
            self._recognized = True
            self._first = None
        _APPLY[type(step)](self, step, out)

    def _on_text(self, step: Text, out: list[StreamEvent]) -> None:
        source = step.source
        last, target = self._last
        if source is not last or target is None:  # most steps address the target of the step before
            target = self.targets.get(source) or self._targets.start(source, out)
            if target is None:
                return
            self._last = (source, target)
        if type(step.text) is str:
            self._targets.text(target, step.text, out)
        else:  # a delta of the wrong type in a damaged payload
            self._fault(Malformed(None, f"{target.source} got a {type(step.text).__name__} where text belongs"), out)

    def _on_open(self, step: Open, out: list[StreamEvent]) -> None:
        if step.source not in self.targets:
            self._targets.start(step.source, out)

    def _on_end(self, step: End, out: list[StreamEvent]) -> None:
        ending = self.targets.get(step.source)
        if ending is not None and ending.open:
            self._targets.end(ending, "incomplete", False, out)

    def _on_close(self, step: Close, out: list[StreamEvent]) -> None:
        self._targets.end_under(step.prefix, "incomplete", False, out)

    def _on_finish(self, step: Finish, out: list[StreamEvent]) -> None:
        self.finish_reasons[step.scope] = step.reason
        cut = step.cut
        self._targets.end_under(step.prefix, step.reason if cut else "incomplete", cut, out)

    def _on_usage(self, step: Usage, out: list[StreamEvent]) -> None:
        usage = step.usage
        if not isinstance(usage, dict):
            self._fault(Malformed(None, f"usage is a {type(usage).__name__}, not an object", None, _dump(usage)), out)
        elif step.merge and self.usage is not None:
            self.usage = _merge(self.usage, usage)
        else:
            self.usage = dict(usage)

    def _on_meta(self, step: Meta, out: list[StreamEvent]) -> None:
        self.model = step.model if isinstance(step.model, str) and step.model else self.model
        self.response_id = self.response_id or (step.response_id if isinstance(step.response_id, str) else None)

    def _on_refusal(self, step: Refusal, out: list[StreamEvent]) -> None:
        self._fault(Refused(None, step.message, None, None, step.details), out)
        self._targets.end_under(step.prefix, "refusal", True, out)

    def _on_error(self, step: Error, out: list[StreamEvent]) -> None:
        payload = step.payload
        status = self.status_code if self.framing == "error-body" else None
        if status is None and isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            found = payload["error"].get("status_code")
            status = found if isinstance(found, int) else None
        self._fault(ErrorReceived(None, step.message, None, None, step.code, step.kind, status, payload), out)
        self._errored = True
        self._targets.end_under("", "error", True, out)

    def _on_ended(self, step: Ended, out: list[StreamEvent]) -> None:
        self._ended = True


#: Step class -> what applying it does (one handler per class of :data:`Step`).
_APPLY: dict[type[Any], Callable[[StreamDecoder, Any, list[StreamEvent]], None]] = {
    Text: StreamDecoder._on_text,
    Open: StreamDecoder._on_open,
    End: StreamDecoder._on_end,
    Close: StreamDecoder._on_close,
    Finish: StreamDecoder._on_finish,
    Usage: StreamDecoder._on_usage,
    Meta: StreamDecoder._on_meta,
    Refusal: StreamDecoder._on_refusal,
    Error: StreamDecoder._on_error,
    Ended: StreamDecoder._on_ended,
}


_SCALARS = (str, int, float, bool, type(None))


def _not_plain_json(value: Any) -> str | None:
    """What in ``value`` is not a plain JSON value (``None`` when all of it is); no recursion."""
    stack: list[Any] = [value]
    open_ids: set[int] = set()  # the containers being walked (a cycle meets one of them again)
    while stack:
        item = stack.pop()
        if isinstance(item, _SCALARS):
            continue
        if type(item) is _Leave:
            open_ids.discard(item.id)
            continue
        if type(item) is list or type(item) is dict:
            if id(item) in open_ids:
                return "a container that holds itself"
            open_ids.add(id(item))
            stack.append(_Leave(id(item)))
            if type(item) is list:
                stack.extend(item)
                continue
            assert type(item) is dict
            for key in item:
                if type(key) is not str:
                    return f"a {type(key).__name__} key"
            stack.extend(item.values())
        else:
            return f"a {type(item).__name__}"
    return None


class _Leave:
    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id


def _dump(value: Any) -> str:
    """``value`` as JSON text for a fault's ``raw``, whatever it holds (no exception escapes)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):  # circular, or nested too deep
        return f"<{type(value).__name__} that is not JSON>"


_OUTPUT_KEYS = (
    "completion_tokens",
    "output_tokens",
    "candidatesTokenCount",
    "eval_count",
    "outputTokens",
    "total_tokens",
)


def _counts_output(usage: dict[str, Any] | None) -> bool:
    # Whether the provider's usage accounts for what was generated (the keys vary by provider).
    if usage is not None:
        for key in _OUTPUT_KEYS:
            if isinstance(usage.get(key), int):
                return True
    return False


def _merge(old: dict[str, Any], new: Any) -> dict[str, Any]:
    """Usage split over several chunks (Anthropic): later non-null values win, nested dicts merge."""
    merged = dict(old)
    if isinstance(new, dict):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = _merge(merged[key], value)
            elif value is not None:
                merged[key] = value
    return merged
