"""The committed event docs are what the generator produces; their schemas accept real events."""
from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from shared.events.docs import ASYNCAPI_FILE, DEFAULT_DOCS_DIR, main, render, stale_files
from shared.events.examples import example_event
from shared.events.registry import REGISTRY, TOPICS, dlq_topic
from shared.events.schemas import schema_file_name


def test_committed_event_docs_match_the_generator():
    stale = stale_files(DEFAULT_DOCS_DIR, render())

    assert stale == [], f"stale docs {stale}: run `python -m shared.events.docs`"


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=lambda key: f"{key[0]}.v{key[1]}")
def test_schema_file_accepts_a_sample_event_and_rejects_a_broken_one(key: tuple[str, int]):
    schema = json.loads((DEFAULT_DOCS_DIR / "events" / schema_file_name(*key)).read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    event = example_event(*key).model_dump(mode="json")

    validator.validate(event)
    assert not validator.is_valid({**event, "subject": "not a customer id"})
    assert not validator.is_valid({**event, "type": "something-else"})


def test_asyncapi_describes_every_topic_and_its_dead_letters():
    document = yaml.safe_load((DEFAULT_DOCS_DIR / ASYNCAPI_FILE).read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}

    assert document["asyncapi"] == "3.0.0"
    assert addresses == set(TOPICS) | {dlq_topic(topic) for topic in TOPICS}
    for topic in TOPICS:
        assert document["operations"][f"send-{topic}"]["action"] == "send"
        assert document["operations"][f"receive-{topic}"]["action"] == "receive"
    for message in document["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"]["type"] == "string"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_in_the_asyncapi_document_resolves():
    document = yaml.safe_load((DEFAULT_DOCS_DIR / ASYNCAPI_FILE).read_text())

    for ref in _refs(document):
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"dangling {ref}"
            target = target[part]


def test_check_mode_lists_stale_files_until_the_docs_are_written(tmp_path, capsys):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "retired-event.v1.schema.json").write_text("{}\n")

    assert main(["--check", "--docs-dir", str(tmp_path)]) == 1
    assert "retired-event.v1.schema.json" in capsys.readouterr().err

    assert main(["--docs-dir", str(tmp_path)]) == 0
    assert main(["--check", "--docs-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "events" / "retired-event.v1.schema.json").exists()
