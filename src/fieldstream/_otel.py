"""OpenTelemetry: one span per stream, an event per completed field, usage and timings as attributes.

``traced(events)`` wraps any iterable of stream events (a ``connect()`` stream, a
``from_sdk()`` stream, ``StreamDecoder`` output): it yields them unchanged while a
span records them.  Attribute names follow the OpenTelemetry GenAI conventions
where one exists (``gen_ai.usage.input_tokens``, ``gen_ai.response.finish_reasons``)
and are ``fieldstream.*`` otherwise.  The span ends with the loop, however it ends;
an exception marks it as an error.  Needs ``pip install 'fieldstream[otel]'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from ._errors import UsageError
from ._events import ValueCompleted, ValueInvalid
from ._stream_events import Fault, StreamCompleted, TargetEvent, TargetStarted
from ._timeline import Timeline

__all__ = ["atraced", "traced"]

_INPUT_KEYS = ("input_tokens", "prompt_tokens", "promptTokenCount", "prompt_eval_count", "inputTokens")
_OUTPUT_KEYS = ("output_tokens", "completion_tokens", "candidatesTokenCount", "eval_count", "outputTokens")


def _tracer(tracer: Any) -> Any:
    if tracer is not None:
        return tracer
    try:
        from opentelemetry import trace
    except ImportError:
        raise UsageError("fieldstream.traced needs OpenTelemetry: pip install 'fieldstream[otel]'") from None
    return trace.get_tracer("fieldstream")


class _Recorder:
    """What the sync and async wrappers share: turning events into span events and attributes."""

    def __init__(self, span: Any, stream: Any) -> None:
        self.span = span
        self.timeline: Timeline | None = getattr(stream, "timeline", None)
        if self.timeline is None:
            self.timeline = Timeline()
            self.timeline.start()
        self._own = getattr(stream, "timeline", None) is None

    def event(self, event: Any) -> None:
        assert self.timeline is not None
        if self._own:
            self.timeline.observe([event])
        t = self.timeline.now()
        source = str(event.source) if getattr(event, "source", None) is not None else ""
        if isinstance(event, TargetEvent) and isinstance(event.event, ValueCompleted) and event.event.path:
            attributes = {"fieldstream.source": source, "fieldstream.path": event.event.path_text}
            self.span.add_event("fieldstream.field", {**attributes, "fieldstream.elapsed_s": round(t, 6)})
        elif isinstance(event, TargetEvent) and isinstance(event.event, ValueInvalid):
            path = event.event.path_text
            self.span.add_event("fieldstream.invalid", {"fieldstream.source": source, "fieldstream.path": path})
        elif isinstance(event, TargetStarted):
            attributes = {"fieldstream.source": source, "fieldstream.kind": event.source.kind}
            if event.source.name is not None:
                attributes["fieldstream.tool_name"] = event.source.name
            self.span.add_event("fieldstream.target", attributes)
        elif isinstance(event, Fault):
            attributes = {"fieldstream.source": source, "fieldstream.fault": type(event).__name__}
            self.span.add_event("fieldstream.fault", {**attributes, "fieldstream.message": event.message[:500]})
        elif isinstance(event, StreamCompleted):
            self.end(event)

    def end(self, event: StreamCompleted) -> None:
        usage = event.usage or {}
        for keys, name in ((_INPUT_KEYS, "gen_ai.usage.input_tokens"), (_OUTPUT_KEYS, "gen_ai.usage.output_tokens")):
            value = next((usage[k] for k in keys if isinstance(usage.get(k), int)), None)
            if value is not None:
                self.span.set_attribute(name, value)
        if event.usage_estimate is not None:
            self.span.set_attribute("fieldstream.usage_estimate.output_tokens", event.usage_estimate["output_tokens"])
        reasons = [str(r) for r in event.finish_reasons.values() if r is not None]
        if reasons:
            self.span.set_attribute("gen_ai.response.finish_reasons", reasons)
        if event.model:
            self.span.set_attribute("gen_ai.response.model", event.model)
        if event.response_id:
            self.span.set_attribute("gen_ai.response.id", event.response_id)
        if event.format:
            self.span.set_attribute("fieldstream.format", event.format)
        self.span.set_attribute("fieldstream.complete", event.complete)

    def finish(self, error: BaseException | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        timeline = self.timeline
        assert timeline is not None
        figures = {
            "fieldstream.time_to_first_byte_s": timeline.first_byte,
            "fieldstream.time_to_first_delta_s": timeline.first_delta,
            "fieldstream.time_to_first_field_s": timeline.first_field,
            "fieldstream.characters_per_second": timeline.characters_per_second,
        }
        for name, value in figures.items():
            if value is not None:
                self.span.set_attribute(name, round(value, 6))
        self.span.set_attribute("fieldstream.fields", len([f for f in timeline.fields if f.path]))
        verdict = timeline.buffering()
        if verdict.buffered is not None:
            self.span.set_attribute("fieldstream.buffered", verdict.buffered)
        if error is not None:
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        self.span.end()


def traced(events: Iterable[Any], *, tracer: Any = None, name: str = "fieldstream.stream") -> Iterator[Any]:
    """Yield ``events`` unchanged while an OpenTelemetry span records the stream.

    ``tracer`` defaults to ``opentelemetry.trace.get_tracer("fieldstream")``.
    """
    span = _tracer(tracer).start_span(name)
    recorder = _Recorder(span, events)
    error: BaseException | None = None
    try:
        for event in events:
            recorder.event(event)
            yield event
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            error = exc
        raise
    finally:
        recorder.finish(error)


async def atraced(
    events: AsyncIterable[Any], *, tracer: Any = None, name: str = "fieldstream.stream"
) -> AsyncIterator[Any]:
    """The async twin of :func:`traced`."""
    span = _tracer(tracer).start_span(name)
    recorder = _Recorder(span, events)
    error: BaseException | None = None
    try:
        async for event in events:
            recorder.event(event)
            yield event
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit):
            error = exc
        raise
    finally:
        recorder.finish(error)
