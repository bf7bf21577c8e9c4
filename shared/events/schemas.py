"""JSON Schemas (draft 2020-12) of whole events: the envelope with `data` set to a payload model."""
from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import CONTENT_TYPE, CloudEvent
from shared.events.examples import example_event
from shared.events.registry import model_for

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI = "https://schemas.customer-value-platform.example/events/"
LOCAL_REF = "#/$defs/{model}"


def schema_file_name(event_type: str, dataversion: int) -> str:
    return f"{event_type}.v{dataversion}.schema.json"


def event_schema_parts(
    event_type: str, dataversion: int, ref_template: str = LOCAL_REF
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The envelope schema of one event and the definitions it refers to through `ref_template`."""
    model = model_for(event_type, dataversion)
    _, definitions = models_json_schema([(model, "validation")], ref_template=ref_template)
    envelope = copy.deepcopy(CloudEvent.model_json_schema(ref_template=ref_template))
    properties = envelope["properties"]
    properties["type"] = {**properties["type"], "const": event_type}
    properties["dataversion"] = {**properties["dataversion"], "const": dataversion}
    properties["data"] = {
        "$ref": ref_template.format(model=model.__name__),
        "description": properties["data"]["description"],
    }
    envelope["title"] = f"{event_type} v{dataversion}"
    envelope["description"] = (
        f"{CATALOGUE[event_type].description} CloudEvents 1.0 in structured mode "
        f"({CONTENT_TYPE}); the Kafka topic is `{event_type}` and the record key the subject."
    )
    return envelope, definitions.get("$defs", {})


def event_schema(event_type: str, dataversion: int) -> dict[str, Any]:
    """A standalone JSON Schema document for one (type, dataversion), with an example event."""
    envelope, definitions = event_schema_parts(event_type, dataversion)
    example = example_event(event_type, dataversion).model_dump(mode="json")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": SCHEMA_BASE_URI + schema_file_name(event_type, dataversion),
        **envelope,
        "$defs": definitions,
        "examples": [example],
    }
