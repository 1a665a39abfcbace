"""Pure adaptive core: the line of every value in a catalogue's JSON text.

``json`` keeps no positions, yet every catalogue problem must name its line; this
module finds them (and the duplicate keys ``json.loads`` silently collapses).
"""

from __future__ import annotations

import bisect
import json
import re

from adaptive.core.catalogue_format import Path

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class JsonPositions:
    """Line of every value in an (already valid) JSON text, keyed by its path.

    ``json`` keeps no positions, so this walks the text once more; it also finds
    duplicate object keys, which ``json.loads`` silently collapses.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[Path, int] = {}
        self.duplicates: list[tuple[int, Path, str]] = []
        self._value(self._skip(0), ())

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1

    def _skip(self, pos: int) -> int:
        while pos < len(self._text) and self._text[pos] in " \t\n\r":
            pos += 1
        return pos

    def _string(self, pos: int) -> tuple[str, int]:
        match = _STRING.match(self._text, pos)
        if match is None:  # pragma: no cover - the text was validated by json.loads
            raise ValueError(f"expected a string at {pos}")
        return str(json.loads(match.group())), match.end()

    def _value(self, pos: int, path: Path) -> int:
        self.lines[path] = self.line_at(pos)
        ch = self._text[pos]
        if ch == "{":
            return self._object(pos + 1, path)
        if ch == "[":
            return self._array(pos + 1, path)
        if ch == '"':
            return self._string(pos)[1]
        for literal in ("true", "false", "null"):
            if self._text.startswith(literal, pos):
                return pos + len(literal)
        match = _NUMBER.match(self._text, pos)
        if match is None:  # pragma: no cover - the text was validated by json.loads
            raise ValueError(f"unexpected character at {pos}")
        return match.end()

    def _object(self, pos: int, path: Path) -> int:
        pos = self._skip(pos)
        seen: set[str] = set()
        if self._text[pos] == "}":
            return pos + 1
        while True:
            key_pos = pos
            key, pos = self._string(pos)
            if key in seen:
                self.duplicates.append((self.line_at(key_pos), path, key))
            seen.add(key)
            pos = self._skip(self._skip(pos) + 1)  # past ':'
            pos = self._skip(self._value(pos, (*path, key)))
            if self._text[pos] == "}":
                return pos + 1
            pos = self._skip(pos + 1)  # past ','

    def _array(self, pos: int, path: Path) -> int:
        pos = self._skip(pos)
        if self._text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            pos = self._skip(self._value(pos, (*path, index)))
            index += 1
            if self._text[pos] == "]":
                return pos + 1
            pos = self._skip(pos + 1)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
