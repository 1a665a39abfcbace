"""Pure adaptive core: read a catalogue file (JSON) into a validated document, or fail.

Parsing collects every problem with the line it sits on and returns nothing unless
the whole file is valid, so an import never stores half a catalogue.
"""

from __future__ import annotations

import json

from adaptive.core.catalogue_check import check_catalogue
from adaptive.core.catalogue_checker import Checker
from adaptive.core.catalogue_format import CatalogueDoc, CatalogueError, CatalogueIssue
from adaptive.core.catalogue_positions import JsonPositions, format_path


def parse_catalogue(text: str, *, source_name: str = "<catalogue>") -> CatalogueDoc:
    """Parse and validate a catalogue file; all or nothing.

    Args:
        text: the file's JSON text.
        source_name: how errors name the file (usually its path).

    Returns:
        The validated document.

    Raises:
        CatalogueError: with every problem found, each with its line number.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        issue = CatalogueIssue(
            exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})"
        )
        raise CatalogueError(source_name, [issue]) from None
    except RecursionError:
        raise CatalogueError(
            source_name, [CatalogueIssue(1, "", "invalid JSON: nested too deeply")]
        ) from None
    positions = JsonPositions(text)
    check = Checker(positions)
    for line, path, key in positions.duplicates:
        check.issues.append(
            CatalogueIssue(
                line, format_path(path), f"duplicate field {key!r} in the same object"
            )
        )
    doc = check_catalogue(raw, check, source_name)
    if check.issues or doc is None:
        raise CatalogueError(source_name, check.issues)
    return doc
