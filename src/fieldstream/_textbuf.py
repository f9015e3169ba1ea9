"""A growing text kept in a few pieces: about one byte per ASCII character, whatever the deltas.

Streamed text arrives in thousands of tiny deltas; keeping each one as its own
``str`` costs ~50 bytes of object header per delta.  Deltas gather in a short
list, which is joined every ``_JOIN`` appends and pushed on a stack of pieces
that merge while the newer is at least as long as the one below (a binary
counter): each character is copied O(log n) times and the stack holds O(log n)
pieces.  Offsets are absolute (counted from the first character ever appended),
so text dropped from the front (what the owner's ``needed_from`` no longer
needs, checked when appends are joined) does not move them.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TextBuffer"]

_JOIN = 8  # appends gathered before they are joined (each alone costs a str header, ~50 bytes)


class TextBuffer:
    __slots__ = ("_pieces", "_size", "_tail", "needed_from", "start")

    def __init__(self, needed_from: Callable[[], int] | None = None) -> None:
        self._pieces: list[str] = []  # joined text, longest first
        self._tail: list[str] = []  # the latest appends, not joined yet
        self._size = 0  # characters held (pieces and tail)
        self.start = 0  # absolute offset of the first character held
        # The owner's seam: the first offset it may still ask for; what came before is
        # dropped when appends are joined (so the owner pays nothing per append).
        self.needed_from = needed_from

    def append(self, text: str) -> None:
        tail = self._tail
        tail.append(text)
        self._size += len(text)
        if len(tail) >= _JOIN:
            self._gather(trim=True)

    def _gather(self, trim: bool = False) -> None:
        piece = "".join(self._tail)
        self._tail = []
        pieces = self._pieces
        if trim and self.needed_from is not None:
            # Only on append: a reader (slice) may still want text its owner no longer needs.
            drop = self.needed_from() - self.start
            if drop > 0 and drop * 2 >= self._size:  # it frees at least half: amortised O(1) per character
                pieces.append(piece)
                rest = "".join(pieces)[drop:]
                self._pieces = [rest] if rest else []
                self._size = len(rest)
                self.start += drop
                return
        while pieces and len(pieces[-1]) <= len(piece):
            piece = pieces.pop() + piece
        pieces.append(piece)

    @property
    def end(self) -> int:
        """Absolute offset just past the last character held."""
        return self.start + self._size

    def text(self) -> str:
        """All text held, as one string (kept joined, so asking again is cheap)."""
        if self._tail:
            self._gather()
        pieces = self._pieces
        if len(pieces) > 1:
            pieces[:] = ["".join(pieces)]
        return pieces[0] if pieces else ""

    def slice(self, begin: int, end: int) -> str:
        """The text from absolute offset ``begin`` to ``end`` (clipped to what is held), in O(end - begin)."""
        if self._tail:
            self._gather()
        begin = max(begin, self.start)
        end = min(end, self.start + self._size)
        out: list[str] = []
        stop = self.start + self._size  # absolute end of the piece looked at
        for piece in reversed(self._pieces):
            first = stop - len(piece)
            if first < end and stop > begin:
                out.append(piece[max(begin - first, 0) : end - first])
            if first <= begin:
                break
            stop = first
        out.reverse()
        return "".join(out)

    def clear(self) -> None:
        """Forget everything held; offsets go on from where they were."""
        self.start += self._size
        self._pieces = []
        self._tail = []
        self._size = 0
