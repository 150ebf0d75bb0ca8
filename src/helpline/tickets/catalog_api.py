"""/api/v1/categories and /api/v1/custom-fields."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from helpline.accounts.models import User
from helpline.api import require_scope
from helpline.core.errors import ValidationError
from helpline.tickets import catalog
from helpline.tickets.catalog_schemas import (
    CategoryIn,
    CategoryNodeOut,
    CategoryOut,
    CategoryUpdateIn,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldUpdateIn,
)
from helpline.tickets.models import Category

categories = Router(tags=["categories"])
custom_fields = Router(tags=["custom fields"])


def _parent(actor: User, parent_id: int | None) -> Category | None:
    if parent_id is None:
        return None
    parent = catalog.visible_categories(actor).filter(pk=parent_id).first()
    if parent is None:
        raise ValidationError(_("Unknown parent category."), fields={"parent_id": "not_found"})
    return parent


@categories.get("", response=list[CategoryNodeOut])
def category_tree(request: HttpRequest, include_inactive: bool = False) -> Any:
    """The category tree. Inactive categories (and their subtrees) only for staff who ask."""
    actor = require_scope(request, "categories:read")
    return catalog.category_tree(
        actor=actor, include_inactive=include_inactive and actor.is_staff_member
    )


@categories.get("/{int:category_id}", response=CategoryOut)
def get_category(request: HttpRequest, category_id: int) -> Any:
    actor = require_scope(request, "categories:read")
    return catalog.access_category(actor, category_id)


@categories.post("", response={201: CategoryOut})
def create_category(request: HttpRequest, payload: CategoryIn) -> Any:
    actor = require_scope(request, "categories:write")
    category = catalog.category_create(
        actor=actor,
        name=payload.name,
        parent=_parent(actor, payload.parent_id),
        description=payload.description,
    )
    return Status(201, category)


@categories.patch("/{int:category_id}", response=CategoryOut)
def update_category(request: HttpRequest, category_id: int, payload: CategoryUpdateIn) -> Any:
    actor = require_scope(request, "categories:write")
    category = catalog.access_category(actor, category_id)
    changes = payload.changes(nullable={"parent_id"})
    if "parent_id" in changes:
        changes["parent"] = _parent(actor, changes.pop("parent_id"))
    return catalog.category_update(actor=actor, category=category, **changes)


@categories.post("/{int:category_id}/deactivate", response=CategoryOut)
def deactivate_category(request: HttpRequest, category_id: int) -> Any:
    actor = require_scope(request, "categories:write")
    category = catalog.access_category(actor, category_id)
    return catalog.category_deactivate(actor=actor, category=category)


@custom_fields.get("", response=list[CustomFieldOut])
def list_custom_fields(request: HttpRequest, include_inactive: bool = False) -> Any:
    """Field definitions; customers see the active ones marked visible to them."""
    actor = require_scope(request, "categories:read")
    return catalog.custom_field_list(actor=actor, include_inactive=include_inactive)


@custom_fields.get("/{int:field_id}", response=CustomFieldOut)
def get_custom_field(request: HttpRequest, field_id: int) -> Any:
    actor = require_scope(request, "categories:read")
    return catalog.access_custom_field(actor, field_id)


@custom_fields.post("", response={201: CustomFieldOut})
def create_custom_field(request: HttpRequest, payload: CustomFieldIn) -> Any:
    actor = require_scope(request, "categories:write")
    return Status(201, catalog.custom_field_create(actor=actor, **payload.model_dump()))


@custom_fields.patch("/{int:field_id}", response=CustomFieldOut)
def update_custom_field(request: HttpRequest, field_id: int, payload: CustomFieldUpdateIn) -> Any:
    actor = require_scope(request, "categories:write")
    found = catalog.access_custom_field(actor, field_id)
    return catalog.custom_field_update(actor=actor, custom_field=found, **payload.changes())
