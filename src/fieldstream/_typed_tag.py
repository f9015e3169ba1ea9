"""``Discriminator(callable)``: the tag of an object whose keys are still arriving.

Theory of operation
-------------------
For JSON input pydantic calls the discriminator once, with the whole object as
a plain ``dict``.  While the object is held, :func:`tag_of` calls it on the
keys whose values are complete so far, through a ``dict`` subclass that notes
how it is read.  If the callable returned a tag having read only keys that are
there (``v[key]``, ``v.get(key)``, ``key in v``), the keys still to come cannot
change what it reads, so pydantic's call on the whole object returns the same
tag: the branch is known.  A read of a key that is absent (perhaps not arrived
yet), any look at the whole (iteration, ``len``, ``keys()``, comparison,
``repr``, copying), a change, an exception or ``None`` leaves the object held;
at its end pydantic decides, as without streaming.

This assumes what pydantic's own examples do: the callable is a function of
its argument, reading it through these methods.  Code that reads the dict
behind Python's back (C code given the dict, ``type(v) is dict``) is not seen;
mark such a union ``fieldstream.Whole``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["UNKNOWN", "tag_of"]

UNKNOWN: Any = object()


class _Probe(dict):  # type: ignore[type-arg]
    """A dict that notes whether it was read only through keys it holds."""

    __slots__ = ("blind",)

    def __init__(self, values: dict[Any, Any]) -> None:
        super().__init__(values)
        self.blind = False

    def _key(self, key: Any) -> None:
        try:
            if not dict.__contains__(self, key):
                self.blind = True  # absent now: it may arrive later
        except TypeError:  # unhashable
            self.blind = True

    def __getitem__(self, key: Any) -> Any:
        self._key(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._key(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._key(key)
        return dict.__contains__(self, key)


def _whole(name: str) -> Callable[..., Any]:
    method = getattr(dict, name)

    def look(self: _Probe, *args: Any, **kwargs: Any) -> Any:
        self.blind = True  # the answer depends on keys still to come
        return method(self, *args, **kwargs)

    look.__name__ = name
    return look


for _name in (
    "__iter__",
    "__len__",
    "__reversed__",
    "keys",
    "items",
    "values",
    "__eq__",
    "__ne__",
    "__repr__",
    "__or__",
    "__ror__",
    "__ior__",
    "copy",
    "__setitem__",
    "__delitem__",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "clear",
    "__reduce__",
    "__reduce_ex__",
    "__sizeof__",
):
    setattr(_Probe, _name, _whole(_name))
_Probe.__hash__ = None


def tag_of(call: Callable[[Any], Any], values: dict[Any, Any]) -> Any:
    """The tag ``call`` returns for the object that ``values`` begins, if no later key can change it; else ``UNKNOWN``."""
    probe = _Probe(values)
    try:
        tag = call(probe)
    except Exception:  # noqa: BLE001 - the callable may need keys still to come; pydantic calls it at the end
        return UNKNOWN
    if probe.blind or tag is None:
        return UNKNOWN
    return tag
