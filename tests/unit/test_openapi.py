"""docs/openapi.json is what the code generates: a route, a model or a field description changed in the
code and not in the document fails here."""

from pathlib import Path

from parcelflow.operator_api.openapi import render

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m parcelflow.operator_api.openapi > docs/openapi.json"


def test_the_committed_openapi_document_is_the_generated_one() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), f"docs/openapi.json is stale: run `{REGENERATE}`"


def test_the_document_holds_both_apis_with_their_own_auth() -> None:
    import json

    doc = json.loads(render())
    assert doc["security"] == [{"sigv4": []}]
    assert doc["paths"]["/scans"]["post"]["security"] == [{"scanner_key": []}]
    assert {"/tabs", "/orders", "/orders/search", "/orders/actions/{action}", "/due-soon"} <= set(
        doc["paths"]
    )
    refs = {part.split('"')[0] for part in json.dumps(doc).split('"$ref": "#/components/schemas/')[1:]}
    assert refs <= set(doc["components"]["schemas"])  # no reference points nowhere
