"""Catalog services and selectors: categories, custom fields, tags, status settings."""

from __future__ import annotations

import pytest

from helpline.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpline.tickets import catalog, events
from helpline.tickets.models import CustomField, StatusConfig, Tag


@pytest.fixture
def tree(desk):
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    laptops = catalog.category_create(actor=desk.admin, name="Laptops", parent=hardware)
    batteries = catalog.category_create(actor=desk.admin, name="Batteries", parent=laptops)
    billing = catalog.category_create(actor=desk.admin, name="Billing")
    return hardware, laptops, batteries, billing


def _shape(nodes):
    return [(node.name, _shape(node.children)) for node in nodes]


def test_tree_is_nested_and_sorted(desk, tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        roots = catalog.category_tree(actor=desk.alice)
    assert _shape(roots) == [
        ("Billing", []),
        ("Hardware", [("Laptops", [("Batteries", [])])]),
    ]


def test_inactive_categories_hide_their_subtree(desk, tree, capture_events):
    _hardware, laptops, _batteries, _billing = tree
    catalog.category_deactivate(actor=desk.admin, category=laptops)
    assert capture_events.of(events.CategoryUpdated)[-1]["changes"] == {"is_active": [True, False]}
    assert _shape(catalog.category_tree(actor=desk.alice)) == [
        ("Billing", []),
        ("Hardware", []),
    ]
    staff_view = catalog.category_tree(actor=desk.agent1, include_inactive=True)
    assert _shape(staff_view)[1] == ("Hardware", [("Laptops", [("Batteries", [])])])
    with pytest.raises(NotFound):
        catalog.access_category(desk.alice, laptops.pk)
    assert catalog.access_category(desk.agent1, laptops.pk) == laptops


def test_sibling_names_are_unique_case_insensitively(desk, tree):
    hardware, _laptops, _batteries, billing = tree
    with pytest.raises(Conflict):
        catalog.category_create(actor=desk.admin, name="billing")
    with pytest.raises(Conflict):
        catalog.category_create(actor=desk.admin, name="LAPTOPS", parent=hardware)
    # The same name under another parent is fine
    catalog.category_create(actor=desk.admin, name="Laptops", parent=billing)
    with pytest.raises(Conflict):
        catalog.category_update(actor=desk.admin, category=billing, name="Hardware")


def test_a_category_cannot_move_under_itself(desk, tree):
    hardware, _laptops, batteries, billing = tree
    with pytest.raises(ValidationError) as excinfo:
        catalog.category_update(actor=desk.admin, category=hardware, parent=batteries)
    assert excinfo.value.fields == {"parent": "cycle"}
    moved = catalog.category_update(actor=desk.admin, category=billing, parent=hardware)
    assert moved.parent == hardware


def test_only_admins_change_categories(desk, tree):
    with pytest.raises(PermissionDenied):
        catalog.category_create(actor=desk.agent1, name="X")
    with pytest.raises(PermissionDenied):
        catalog.category_deactivate(actor=desk.supervisor, category=tree[0])
    with pytest.raises(ValidationError):
        catalog.category_create(actor=desk.admin, name="  ")


def test_custom_field_definitions(desk, capture_events):
    plan = catalog.custom_field_create(
        actor=desk.admin,
        key="plan_tier",
        label="Plan tier",
        type="choice",
        choices=["gold", " silver "],
        visible_to_customers=True,
    )
    assert plan.choices == ["gold", "silver"]
    assert capture_events.of(events.CustomFieldCreated) == [
        {"custom_field_id": plan.pk, "key": "plan_tier"}
    ]
    internal = catalog.custom_field_create(
        actor=desk.admin, key="risk", label="Risk", type="number"
    )
    assert list(catalog.custom_field_list(actor=desk.alice)) == [plan]
    assert set(catalog.custom_field_list(actor=desk.agent1)) == {plan, internal}
    catalog.custom_field_update(actor=desk.admin, custom_field=internal, is_active=False)
    assert list(catalog.custom_field_list(actor=desk.agent1)) == [plan]
    assert len(catalog.custom_field_list(actor=desk.agent1, include_inactive=True)) == 2
    with pytest.raises(NotFound):
        catalog.access_custom_field(desk.alice, internal.pk)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "Bad Key", "label": "L", "type": "text"}, "key"),
        ({"key": "k", "label": " ", "type": "text"}, "label"),
        ({"key": "k", "label": "L", "type": "colour"}, "type"),
        ({"key": "k", "label": "L", "type": "choice"}, "choices"),
        ({"key": "k", "label": "L", "type": "choice", "choices": ["a", "a"]}, "choices"),
        ({"key": "k", "label": "L", "type": "text", "choices": ["a"]}, "choices"),
    ],
)
def test_invalid_custom_fields(desk, kwargs, field):
    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(actor=desk.admin, **kwargs)
    assert field in excinfo.value.fields


def test_custom_field_key_is_unique_and_type_fixed(desk):
    created = catalog.custom_field_create(actor=desk.admin, key="k", label="L", type="text")
    with pytest.raises(Conflict):
        catalog.custom_field_create(actor=desk.admin, key="k", label="L2", type="date")
    with pytest.raises(ValidationError):
        catalog.custom_field_update(actor=desk.admin, custom_field=created, type="date")
    with pytest.raises(ValidationError):
        catalog.custom_field_update(actor=desk.admin, custom_field=created, choices=["a"])
    with pytest.raises(PermissionDenied):
        catalog.custom_field_update(actor=desk.agent1, custom_field=created, label="X")
    assert CustomField.objects.get(pk=created.pk).label == "L"


def test_tags_by_prefix_for_staff_only(desk):
    Tag.objects.bulk_create([Tag(name=n) for n in ("vpn", "vpn-down", "billing")])
    assert [t.name for t in catalog.tag_list(actor=desk.agent1, q="VPN")] == ["vpn", "vpn-down"]
    assert list(catalog.tag_list(actor=desk.alice)) == []


def test_status_settings(desk, capture_events):
    config = catalog.status_config_update(actor=desk.admin, status="open", pauses_sla=True)
    assert StatusConfig.objects.get(status="open").pauses_sla is True
    assert capture_events.of(events.StatusConfigUpdated) == [
        {"status": "open", "changes": {"pauses_sla": [False, True]}}
    ]
    assert config in catalog.status_config_list()
    with pytest.raises(ValidationError):
        catalog.status_config_update(actor=desk.admin, status="limbo", pauses_sla=True)
    with pytest.raises(PermissionDenied):
        catalog.status_config_update(actor=desk.agent1, status="open", pauses_sla=False)
