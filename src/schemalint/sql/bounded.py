"""Decoding pglast's JSON parse trees (:func:`decode`), and that of a huge statement without building its
data lists (:func:`decode_bounded`).

A 10 MB ``INSERT … VALUES`` is 93 MB of pglast JSON and over 1 GB once decoded into dicts, almost all of it
the rows of its VALUES list. For a statement whose JSON is longer than HUGE_JSON, every list of at least
MIN_ELEMENTS rows, items, elements, arguments or targets is left undecoded: a :class:`LazyArray` stands in
its place, and each element is decoded from the JSON text when it is read (iterated, indexed), then
dropped. Nothing is left out: a rule that reads every row still sees every row, one at a time.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator
from typing import Any, SupportsIndex, overload

import orjson

HUGE_JSON = 8_000_000  # characters of JSON (about 1 MB of SQL)
MIN_ELEMENTS = 1_000
_DATA_LIST = re.compile(r'"(?:valuesLists|items|elements|args|targetList)":\[')
_MARK = "\x00lazy:"  # no SQL string holds a NUL character: this cannot be a value of the tree
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


def decode(payload: str) -> Any:
    """pglast's JSON, decoded with orjson: twice as fast as the standard library on parse trees (measured on
    38,000 small statements: 0.36 s against 0.77 s), which is most of what a long DO block costs. orjson
    refuses nesting deeper than 1,024 levels, which PostgreSQL accepts (hundreds of nested CASEs): those
    trees are decoded by the standard library, in the deep thread's large stack (deep.py)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


class LazyArray(list[Any]):
    """A JSON array of a parse tree whose elements are decoded when read. It is a ``list`` for the code
    that checks node types; it holds no elements itself, so C code that reads a list's storage directly
    (``str.join``, ``json.dumps``, ``+``) sees it empty: parse trees are only iterated, indexed, measured
    and searched, which it answers."""

    __slots__ = ("_end", "_starts", "_text")

    def __init__(self, text: str, starts: array[int], end: int) -> None:
        super().__init__()
        self._text, self._starts, self._end = text, starts, end

    def _element(self, k: int) -> Any:
        stop = self._starts[k + 1] - 1 if k + 1 < len(self._starts) else self._end
        return decode(self._text[self._starts[k] : stop])

    def __len__(self) -> int:
        return len(self._starts)

    def __bool__(self) -> bool:
        return len(self._starts) > 0

    def __iter__(self) -> Iterator[Any]:
        return (self._element(k) for k in range(len(self._starts)))

    def __reversed__(self) -> Iterator[Any]:
        return (self._element(k) for k in reversed(range(len(self._starts))))

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            return [self._element(k) for k in range(*index.indices(len(self._starts)))]
        k = index.__index__()
        k = k + len(self._starts) if k < 0 else k
        if not 0 <= k < len(self._starts):
            raise IndexError("list index out of range")
        return self._element(k)

    def __contains__(self, value: object) -> bool:
        return any(element == value for element in self)

    def count(self, value: Any) -> int:
        return sum(1 for element in self if element == value)

    def index(self, value: Any, start: SupportsIndex = 0, stop: SupportsIndex = 2**62) -> int:
        for k in range(*slice(start, stop).indices(len(self._starts))):
            if self._element(k) == value:
                return k
        raise ValueError(f"{value!r} is not in list")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None

    def __repr__(self) -> str:
        return f"LazyArray({len(self._starts)} elements)"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (``check -j``) as what it is, not decoded
        return (LazyArray, (self._text, self._starts, self._end))


def decode_bounded(payload: str) -> Any:
    """:func:`decode`, with the long data lists of a huge statement left as :class:`LazyArray`."""
    if len(payload) < HUGE_JSON:
        return decode(payload)
    cuts: list[tuple[int, int, array[int]]] = []  # (first element, closing bracket, element starts)
    position = 0
    while (match := _DATA_LIST.search(payload, position)) is not None:
        first = match.end()
        starts, close = _elements(payload, first)
        if len(starts) >= MIN_ELEMENTS:
            cuts.append((first, close, starts))
            position = close + 1
        else:
            position = first  # a short list: longer ones may sit inside its elements
    if not cuts:
        return decode(payload)
    pieces: list[str] = []
    last = 0
    for number, (first, close, _) in enumerate(cuts):
        pieces.append(payload[last:first])
        pieces.append(f'"\\u0000lazy:{number}"')  # the marker, as JSON spells a NUL
        last = close
    pieces.append(payload[last:])
    skeleton = decode("".join(pieces))
    lazy = [LazyArray(payload, starts, close) for _, close, starts in cuts]
    return _put_back(skeleton, lazy)


def _elements(payload: str, first: int) -> tuple[array[int], int]:
    """Where each element of the array whose first element is at ``first`` starts, and its ``]``: each
    element is decoded by the json module's C scanner and dropped at once."""
    starts = array("q")
    if payload[first] == "]":
        return starts, first
    at = first
    while True:
        starts.append(at)
        _, end = _scan_once(payload, at)
        if payload[end] != ",":
            return starts, end
        at = end + 1


def _put_back(tree: Any, lazy: list[LazyArray]) -> Any:
    """The skeleton with each ``[marker]`` list replaced by its LazyArray (iteratively: trees are deep)."""
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, list):
                if len(value) == 1 and isinstance(value[0], str) and value[0].startswith(_MARK):
                    node[key] = lazy[int(value[0][len(_MARK):])]
                    continue
                stack.append(value)
            elif isinstance(value, dict):
                stack.append(value)
    return tree
