"""Generate docs/events/*.schema.json and docs/asyncapi.yaml from the registry.

    python -m shared.events.docs           # write the files
    python -m shared.events.docs --check   # exit 1, listing stale files, if they are out of date
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.events.asyncapi import asyncapi_document
from shared.events.registry import REGISTRY
from shared.events.schemas import event_schema, schema_file_name

DEFAULT_DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
SCHEMA_DIR = "events"
ASYNCAPI_FILE = "asyncapi.yaml"


class _NoAliasDumper(yaml.SafeDumper):
    # Repeated sub-objects must be written out in full, not as &anchors readers must chase.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Multi-line descriptions read as written (a `|` block) instead of an escaped one-liner.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_NoAliasDumper.add_representer(str, _represent_str)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml(document: dict[str, Any]) -> str:
    return yaml.dump(
        document, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100
    )


def render() -> dict[str, str]:
    """Every generated file, keyed by its path relative to the docs directory."""
    files = {
        f"{SCHEMA_DIR}/{schema_file_name(event_type, version)}": _json(
            event_schema(event_type, version)
        )
        for event_type, version in REGISTRY
    }
    files[ASYNCAPI_FILE] = _yaml(asyncapi_document())
    return files


def stale_files(docs_dir: Path, files: dict[str, str]) -> list[str]:
    """Generated files that are missing or differ on disk, and schema files no longer generated."""
    stale = [
        name
        for name, content in files.items()
        if not (docs_dir / name).is_file() or (docs_dir / name).read_text("utf-8") != content
    ]
    orphans = [
        f"{SCHEMA_DIR}/{path.name}"
        for path in sorted((docs_dir / SCHEMA_DIR).glob("*.schema.json"))
        if f"{SCHEMA_DIR}/{path.name}" not in files
    ]
    return sorted(stale + orphans)


def write(docs_dir: Path, files: dict[str, str]) -> list[str]:
    """Bring the docs directory up to date; returns the files written or removed."""
    changed = stale_files(docs_dir, files)
    for name in changed:
        path = docs_dir / name
        if name in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[name], encoding="utf-8")
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.events.docs", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="list stale files, do not write")
    parser.add_argument("--docs-dir", type=Path, default=DEFAULT_DOCS_DIR)
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = stale_files(args.docs_dir, files)
        for name in stale:
            print(f"stale: {args.docs_dir / name}", file=sys.stderr)
        if stale:
            print("run `python -m shared.events.docs` to regenerate", file=sys.stderr)
        return 1 if stale else 0
    for name in write(args.docs_dir, files):
        print(f"updated {args.docs_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
