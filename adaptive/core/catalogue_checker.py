"""Pure adaptive core: field checks that collect catalogue problems, each with its line.

The document rules (``catalogue_check``) are written against these primitives, so every
message says the same things the same way and nothing stops at the first problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from adaptive.core.catalogue_format import KEY_PATTERN, CatalogueIssue, Path
from adaptive.core.catalogue_positions import JsonPositions, format_path


class Checker:
    """Collects issues, each pinned to the line of the nearest located value."""

    def __init__(self, positions: JsonPositions) -> None:
        self.positions = positions
        self.issues: list[CatalogueIssue] = []

    def line(self, path: Path) -> int:
        while path not in self.positions.lines and path:
            path = path[:-1]
        return self.positions.lines.get(path, 1)

    def error(self, path: Path, message: str) -> None:
        self.issues.append(CatalogueIssue(self.line(path), format_path(path), message))

    def obj(
        self, value: Any, path: Path, allowed: Iterable[str]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"must be an object, got {kind_of(value)}")
            return None
        allowed_set = set(allowed)
        for name in value:
            if name not in allowed_set:
                self.error(
                    (*path, name),
                    f"unknown field {name!r} "
                    f"(allowed: {', '.join(sorted(allowed_set))})",
                )
        return value

    def array(
        self, obj: dict[str, Any], path: Path, name: str, *, required: bool
    ) -> list[Any]:
        if name not in obj:
            if required:
                self.error(path, f"missing required field {name!r}")
            return []
        value = obj[name]
        if not isinstance(value, list):
            self.error((*path, name), f"must be a list, got {kind_of(value)}")
            return []
        return value

    def string(
        self,
        obj: dict[str, Any],
        path: Path,
        name: str,
        *,
        required: bool = True,
        default: str = "",
        max_len: int | None = None,
        non_empty: bool = True,
    ) -> str:
        if name not in obj:
            if required:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if not isinstance(value, str):
            self.error((*path, name), f"must be a string, got {kind_of(value)}")
            return default
        if non_empty and required and not value.strip():
            self.error((*path, name), "must not be empty")
        if max_len is not None and len(value) > max_len:
            self.error(
                (*path, name), f"is {len(value)} characters long (at most {max_len})"
            )
        return value

    def key(self, obj: dict[str, Any], path: Path, name: str = "key") -> str:
        value = self.string(obj, path, name)
        if value and not KEY_PATTERN.match(value):
            self.error(
                (*path, name),
                f"{value!r} is not a valid key (lower-case letters, digits, "
                "'.', '_', '-'; at most 100 characters)",
            )
        return value

    def integer(
        self, obj: dict[str, Any], path: Path, name: str, *, default: int | None = None
    ) -> int | None:
        if name not in obj:
            if default is None:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.error((*path, name), f"must be a whole number, got {kind_of(value)}")
            return None
        return value

    def number(
        self,
        obj: dict[str, Any],
        path: Path,
        name: str,
        *,
        default: float | None = None,
    ) -> float | None:
        if name not in obj:
            if default is None:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error((*path, name), f"must be a number, got {kind_of(value)}")
            return None
        if not math.isfinite(value):
            self.error((*path, name), "must be a finite number")
            return None
        return float(value)

    def level(
        self, value: int | None, path: Path, max_level: int, *, minimum: int
    ) -> int:
        if value is None:
            return minimum
        if not minimum <= value <= max_level:
            self.error(
                path,
                f"level {value} is outside the framework's scale "
                f"({minimum}..{max_level})",
            )
        return value

    def unique(self, items: Sequence[tuple[str, Path]], what: str) -> None:
        first: dict[str, Path] = {}
        for key, path in items:
            if not key:
                continue
            if key in first:
                self.error(
                    path,
                    f"duplicate {what} key {key!r} "
                    f"(first defined on line {self.line(first[key])})",
                )
            else:
                first[key] = path


def kind_of(value: Any) -> str:
    """How an error message names a JSON value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else "a number"
