"""/api/v1/categories and /api/v1/custom-fields."""

from __future__ import annotations

from django.test import Client

from helpline.core.api_testing import api_call
from helpline.integrations import services as tokens
from helpline.tickets import catalog

CATEGORIES = "/api/v1/categories"
FIELDS = "/api/v1/custom-fields"


def test_anonymous_is_401(client, desk):
    api_call(client, "get", CATEGORIES, expect=401)
    api_call(client, "get", FIELDS, expect=401)


def test_category_tree_for_customers_and_staff(client, desk):
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    laptops = catalog.category_create(actor=desk.admin, name="Laptops", parent=hardware)
    old = catalog.category_create(actor=desk.admin, name="Old", parent=hardware)
    catalog.category_deactivate(actor=desk.admin, category=old)
    tree = api_call(client, "get", CATEGORIES, user=desk.alice, expect=200).json()
    assert tree == [
        {
            "id": hardware.pk,
            "name": "Hardware",
            "description": "",
            "is_active": True,
            "parent_id": None,
            "children": [
                {
                    "id": laptops.pk,
                    "name": "Laptops",
                    "description": "",
                    "is_active": True,
                    "parent_id": hardware.pk,
                    "children": [],
                }
            ],
        }
    ]
    # include_inactive is ignored for customers, honoured for staff
    customer = api_call(client, "get", CATEGORIES, query={"include_inactive": "true"}).json()
    assert len(customer[0]["children"]) == 1
    staff = api_call(
        Client(), "get", CATEGORIES, user=desk.agent1, query={"include_inactive": "true"}
    ).json()
    assert [c["name"] for c in staff[0]["children"]] == ["Laptops", "Old"]


def test_admin_creates_updates_and_deactivates_categories(client, desk):
    client.force_login(desk.admin)
    parent = api_call(client, "post", CATEGORIES, json={"name": "Hardware"}, expect=201).json()
    child = api_call(
        client, "post", CATEGORIES, json={"name": "Laptops", "parent_id": parent["id"]}, expect=201
    ).json()
    assert child["parent_id"] == parent["id"]
    moved = api_call(
        client, "patch", f"{CATEGORIES}/{child['id']}", json={"parent_id": None}, expect=200
    ).json()
    assert moved["parent_id"] is None
    cycle = api_call(
        client,
        "patch",
        f"{CATEGORIES}/{parent['id']}",
        json={"parent_id": parent["id"]},
        expect=422,
    )
    assert cycle.json()["error"]["fields"] == {"parent": "cycle"}
    gone = api_call(client, "post", f"{CATEGORIES}/{child['id']}/deactivate", expect=200).json()
    assert gone["is_active"] is False
    api_call(client, "post", CATEGORIES, json={"name": "hardware"}, expect=409)
    unknown = api_call(client, "post", CATEGORIES, json={"name": "X", "parent_id": 999}, expect=422)
    assert unknown.json()["error"]["fields"] == {"parent_id": "not_found"}


def test_agents_and_customers_cannot_write_categories(client, desk):
    category = catalog.category_create(actor=desk.admin, name="Hardware")
    api_call(client, "post", CATEGORIES, user=desk.agent1, json={"name": "X"}, expect=403)
    api_call(client, "post", f"{CATEGORIES}/{category.pk}/deactivate", expect=403)
    customer = Client()
    response = api_call(customer, "post", CATEGORIES, user=desk.alice, json={"name": "X"})
    assert response.json()["error"]["code"] == "insufficient_scope"


def test_custom_fields_api(client, desk):
    client.force_login(desk.admin)
    created = api_call(
        client,
        "post",
        FIELDS,
        json={
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "choices": ["gold", "silver"],
            "required": True,
            "visible_to_customers": True,
        },
        expect=201,
    ).json()
    assert created["choices"] == ["gold", "silver"]
    internal = api_call(
        client, "post", FIELDS, json={"key": "risk", "label": "Risk", "type": "number"}, expect=201
    ).json()
    updated = api_call(
        client,
        "patch",
        f"{FIELDS}/{created['id']}",
        json={"choices": ["gold", "silver", "bronze"], "label": "Plan tier"},
        expect=200,
    ).json()
    assert (updated["label"], updated["choices"][-1]) == ("Plan tier", "bronze")
    bad_type = api_call(client, "post", FIELDS, json={"key": "x", "label": "X", "type": "colour"})
    assert bad_type.status_code == 422
    fixed = api_call(client, "patch", f"{FIELDS}/{created['id']}", json={"type": "text"})
    assert fixed.json()["error"]["fields"] == {"type": "Extra inputs are not permitted"}

    customer = Client()
    listed = api_call(customer, "get", FIELDS, user=desk.alice, expect=200).json()
    assert [f["key"] for f in listed] == ["tier"]
    api_call(customer, "get", f"{FIELDS}/{internal['id']}", expect=404)
    api_call(customer, "patch", f"{FIELDS}/{created['id']}", json={"label": "x"}, expect=403)
    agents = api_call(Client(), "get", FIELDS, user=desk.agent1, expect=200).json()
    assert {f["key"] for f in agents} == {"tier", "risk"}


def test_customer_tokens_cannot_read_the_catalog(client, desk):
    _token, plaintext = tokens.token_create(
        actor=None, user=desk.alice, name="t", scopes=["tickets:read"]
    )
    api_call(client, "get", CATEGORIES, token=plaintext, expect=403)
