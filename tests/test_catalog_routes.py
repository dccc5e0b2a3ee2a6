"""The catalog endpoint: public, both labels."""

from __future__ import annotations


def test_catalog_is_public_with_both_labels(client):
    response = client.get("/api/v1/catalog")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    categories = {c["code"]: c for c in response.get_json()["hazard_categories"]}
    assert categories["unlit_characters"]["zh"] == "断字缺亮" and categories["rusted"]["en"] == "Rusted"
    assert {s["code"] for s in response.get_json()["shifts"]} == {"day", "night"}
