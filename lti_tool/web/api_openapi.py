"""Web layer: the OpenAPI 3.1 document of the learner API, built from its pydantic schemas.

Nothing is written by hand but the route list: paths, bodies and answers come from the
same classes that validate requests, so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from lti_tool.web.api_schemas import ApiError

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class ApiRoute:
    """One learner API route: its Flask rule under /api, a summary and its schemas."""

    method: str
    rule: str
    summary: str
    request: type[BaseModel] | None
    response: type[BaseModel]

    @property
    def path(self) -> str:
        """The OpenAPI path (``/api/v1/activities/{key}``) of the Flask rule."""
        return "/api" + _PARAM.sub(r"{\1}", self.rule)


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model="ApiError")}}
        },
    }


def _operation(route: ApiRoute) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        )
        .replace("}", "")
        .replace("-", "_"),
        "summary": route.summary,
        "security": [{"launchToken": []}],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {"$ref": _REF.format(model=route.response.__name__)}
                    }
                },
            },
            "401": _error_response(
                "No valid launch token (no_token, launch_expired...)"
            ),
            "403": _error_response("Not a learner's launch (learner_only)"),
            "404": _error_response("Not in this launch's module"),
            "409": _error_response("Not possible now (no_module, not_pending...)"),
            "422": _error_response("The body does not match its schema"),
        },
    }
    params = _PARAM.findall(route.rule)
    if params:
        op["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    if route.request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": _REF.format(model=route.request.__name__)}
                }
            },
        }
    return op


def openapi_document(routes: Sequence[ApiRoute], *, base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``, schemas under ``components``."""
    models: list[type[BaseModel]] = [ApiError]
    for route in routes:
        models += [m for m in (route.request, route.response) if m is not None]
    unique = list(dict.fromkeys(models))
    _, defs = models_json_schema([(m, "validation") for m in unique], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pathwise learner API",
            "version": "1",
            "description": "What a learner's player does after an LTI launch. See docs/api.md.",
        },
        "servers": [{"url": base_url or "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "launchToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The launch token of the learner page's meta tag.",
                }
            },
        },
    }
