"""Pipeline files as pydantic models, built from the same `Option` tables config
validates with, so the JSON Schema an editor checks against (`sentitui schema`) and
what `sentitui validate` accepts cannot drift apart.

One model per source kind (`[[source]]` tables, told apart by `kind`) and one for
`[pipeline]`; `PipelineFile` holds both. Imported only by the `schema` command and
tests, so loading a pipeline never pays for pydantic.
"""

from __future__ import annotations

from types import UnionType
from typing import (
    Annotated,
    Any,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from pydantic import BaseModel, ConfigDict, Field, create_model

from sentitui.config import COMMON_SOURCE_OPTIONS, PIPELINE_OPTIONS
from sentitui.config.alerts import alert_options
from sentitui.config.kinds import Option, kinds, source_kind

SCHEMA_ID = "https://sentitui.invalid/pipeline.schema.json"


def _annotation(shape: Any) -> Any:
    """An Option shape as pydantic reads it: a TypedDict (a table with known keys)
    becomes a model that forbids other keys, inside lists, tables and unions too."""
    if is_typeddict(shape):
        hints = get_type_hints(shape)
        fields: dict[str, Any] = {
            f"key_{key}": (
                _annotation(hint),
                Field(... if key in shape.__required_keys__ else None, alias=key),
            )
            for key, hint in hints.items()
        }
        config = ConfigDict(extra="forbid", strict=True, title=shape.__name__)
        return create_model(shape.__name__, __config__=config, **fields)
    origin, args = get_origin(shape), get_args(shape)
    if origin in (Union, UnionType):
        return Union[tuple(_annotation(a) for a in args)]  # noqa: UP007
    if origin in (list, dict):  # list[X] / dict[str, X], X converted
        return origin[(*args[:-1], _annotation(args[-1]))]
    return shape


def _field(option: Option, key: str) -> tuple[Any, Any]:
    """(annotation, Field) of one key; TOML names become aliases so a key such as
    `fields` or `schema` never clashes with pydantic's own attributes."""
    annotation: Any = _annotation(option.shape)
    if annotation is None and set(option.types) == {int, float}:
        annotation = float  # an integer is a number too (a JSON Schema "number")
    elif annotation is None:
        annotation = option.types[0] if len(option.types) == 1 else Union[option.types]  # noqa: UP007
    # TOML has no null: a key left out takes its default (None: the kind decides).
    default = ... if option.required else option.default
    field = Field(
        default,
        alias=key,
        description=option.doc or None,
        ge=option.minimum,
        le=option.maximum,
    )
    return annotation, field


def _model(name: str, options: dict[str, Option], **extra: tuple[Any, Any]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        f"key_{key}": _field(option, key) for key, option in options.items() if key not in extra
    }
    fields.update(extra)
    config = ConfigDict(extra="forbid", strict=True, populate_by_name=False, title=name)
    return create_model(name, __config__=config, **fields)


def source_model(kind: str) -> type[BaseModel]:
    """The `[[source]]` table of one kind: the keys every source has, then its own."""
    options = {**COMMON_SOURCE_OPTIONS, **source_kind(kind).OPTIONS}
    kind_field = (Literal[kind], Field(alias="kind", description="the source kind"))
    return _model(f"source:{kind}", options, key_kind=kind_field)


def pipeline_file_model() -> type[BaseModel]:
    """A whole pipeline file: `[pipeline]`, its `[[source]]` and `[[alert]]` tables."""
    # Built at run time from the kinds, so typed as Any: one table per kind, by `kind`.
    sources: Any = Union[tuple(source_model(kind) for kind in kinds())]  # noqa: UP007
    any_source: Any = Annotated[sources, Field(discriminator="key_kind")]
    pipeline = _model("pipeline", PIPELINE_OPTIONS)
    alert: Any = _model("alert", alert_options())
    return create_model(
        "PipelineFile",
        __config__=ConfigDict(extra="forbid", strict=True, title="SentiTUI pipeline file"),
        pipeline=(pipeline, Field(description="the pipeline's name, schedule and insight")),
        source=(list[any_source], Field(default=[], description="[[source]] tables")),
        alert=(
            list[alert],
            Field(default=[], description="[[alert]] rules (issue 16)"),
        ),
    )


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of pipeline files, for taplo / Even Better TOML and the like."""
    schema = _without_null_defaults(pipeline_file_model().model_json_schema(by_alias=True))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _without_null_defaults(node: Any) -> Any:
    """Drop `"default": null` (a key with no default), which TOML cannot even write."""
    if isinstance(node, dict):
        return {
            k: _without_null_defaults(v)
            for k, v in node.items()
            if not (k == "default" and v is None)
        }
    if isinstance(node, list):
        return [_without_null_defaults(v) for v in node]
    return node
