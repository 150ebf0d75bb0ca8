"""The ticket catalog: categories, custom field definitions, tags and status settings.

Reads are scoped to the viewer (customers see active categories and the active custom
fields marked visible to them); writes are for administrators and emit events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, User
from helpline.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpline.core.events import emit
from helpline.tickets.events import (
    CategoryCreated,
    CategoryUpdated,
    CustomFieldCreated,
    CustomFieldUpdated,
    StatusConfigUpdated,
)
from helpline.tickets.models import Category, CustomField, Status, StatusConfig, Tag

MAX_CHOICES = 200


def _require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators may do this."))


def _plain(value: Any) -> Any:
    return getattr(value, "pk", value)


def _apply(instance: Any, changes: dict[str, Any]) -> dict[str, list]:
    diff: dict[str, list] = {}
    for name, value in changes.items():
        old = getattr(instance, name)
        if old != value:
            setattr(instance, name, value)
            diff[name] = [_plain(old), _plain(value)]
    return diff


# --- categories -------------------------------------------------------------------------


@dataclass
class CategoryNode:
    id: int
    name: str
    description: str
    is_active: bool
    parent_id: int | None
    children: list[CategoryNode] = field(default_factory=list)


def visible_categories(actor: User) -> QuerySet[Category]:
    queryset = Category.objects.all()
    return queryset if actor.is_staff_member else queryset.filter(is_active=True)


def category_tree(*, actor: User, include_inactive: bool = False) -> list[CategoryNode]:
    """All categories as a tree (one query), children sorted by name.

    Customers (and staff unless `include_inactive`) see active categories only; the
    subtree under an inactive category is hidden with it.
    """
    queryset = visible_categories(actor)
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    rows = list(queryset.order_by("name", "id"))
    nodes = {
        row.pk: CategoryNode(row.pk, row.name, row.description, row.is_active, row.parent_id)
        for row in rows
    }
    roots: list[CategoryNode] = []
    for node in nodes.values():
        if node.parent_id is None:
            roots.append(node)
        elif node.parent_id in nodes:
            nodes[node.parent_id].children.append(node)
    return roots


def access_category(actor: User, category_id: int) -> Category:
    category = visible_categories(actor).filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    return category


def _clean_category_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Name is required."), fields={"name": "required"})
    return name


def _check_sibling_name(name: str, parent: Category | None, exclude: int | None = None) -> None:
    siblings = Category.objects.filter(parent=parent, name__iexact=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude)
    if siblings.exists():
        raise Conflict(
            _("A category with this name exists at this level."), fields={"name": "taken"}
        )


def category_create(
    *, actor: User | None, name: str, parent: Category | None = None, description: str = ""
) -> Category:
    _require_admin(actor)
    name = _clean_category_name(name)
    with transaction.atomic():
        _check_sibling_name(name, parent)
        category = Category.objects.create(name=name, parent=parent, description=description)
        emit(
            CategoryCreated(category_id=category.pk, parent_id=category.parent_id),
            actor=actor,
            aggregate=("category", category.pk),
        )
    return category


CATEGORY_EDITABLE = ("name", "parent", "description", "is_active")


def category_update(*, actor: User, category: Category, **changes: Any) -> Category:
    """Rename, move (never under itself), re-describe or (de)activate a category."""
    _require_admin(actor)
    unknown = set(changes) - set(CATEGORY_EDITABLE)
    if unknown:
        raise ValidationError(_("Unknown fields."), fields={name: "unknown" for name in unknown})
    if "name" in changes:
        changes["name"] = _clean_category_name(changes["name"])
    with transaction.atomic():
        if "parent" in changes and changes["parent"] is not None:
            ancestor: Category | None = changes["parent"]
            while ancestor is not None:
                if ancestor.pk == category.pk:
                    raise ValidationError(
                        _("A category cannot be moved under itself."),
                        fields={"parent": "cycle"},
                    )
                ancestor = ancestor.parent
        if "name" in changes or "parent" in changes:
            _check_sibling_name(
                changes.get("name", category.name),
                changes.get("parent", category.parent),
                exclude=category.pk,
            )
        diff = _apply(category, changes)
        if diff:
            category.save(update_fields=list(diff))
            emit(
                CategoryUpdated(category_id=category.pk, changes=diff),
                actor=actor,
                aggregate=("category", category.pk),
            )
    return category


def category_deactivate(*, actor: User, category: Category) -> Category:
    """Retire a category: existing tickets keep it, new tickets cannot use it."""
    return category_update(actor=actor, category=category, is_active=False)


# --- custom fields ----------------------------------------------------------------------


def custom_field_list(*, actor: User, include_inactive: bool = False) -> QuerySet[CustomField]:
    queryset = CustomField.objects.all()
    if not actor.is_staff_member:
        return queryset.filter(is_active=True, visible_to_customers=True)
    return queryset if include_inactive else queryset.filter(is_active=True)


def access_custom_field(actor: User, field_id: int) -> CustomField:
    found = custom_field_list(actor=actor, include_inactive=True).filter(pk=field_id).first()
    if found is None:
        raise NotFound(_("Custom field not found."))
    return found


def _clean_choices(field_type: str, choices: list[Any]) -> list[str]:
    if field_type != CustomField.Type.CHOICE:
        if choices:
            raise ValidationError(
                _("Only choice fields have choices."), fields={"choices": "not_allowed"}
            )
        return []
    cleaned: list[str] = []
    for choice in choices:
        text = str(choice).strip()
        if not text:
            raise ValidationError(_("Choices may not be empty."), fields={"choices": "empty"})
        if text in cleaned:
            raise ValidationError(_("Choices must be distinct."), fields={"choices": "duplicate"})
        cleaned.append(text)
    if not cleaned:
        raise ValidationError(
            _("A choice field needs at least one choice."), fields={"choices": "required"}
        )
    if len(cleaned) > MAX_CHOICES:
        raise ValidationError(_("Too many choices."), fields={"choices": "too_many"})
    return cleaned


def custom_field_create(
    *,
    actor: User | None,
    key: str,
    label: str,
    type: str,
    choices: list[Any] | None = None,
    required: bool = False,
    max_length: int = 1000,
    visible_to_customers: bool = False,
    position: int = 0,
) -> CustomField:
    _require_admin(actor)
    if type not in CustomField.Type.values:
        raise ValidationError(_("Unknown field type."), fields={"type": "invalid"})
    key = (key or "").strip()
    if not key or slugify(key) != key or len(key) > 50:
        raise ValidationError(
            _("The key must be a short slug (letters, digits, - and _)."),
            fields={"key": "invalid"},
        )
    label = (label or "").strip()
    if not label:
        raise ValidationError(_("Label is required."), fields={"label": "required"})
    cleaned = _clean_choices(type, choices or [])
    with transaction.atomic():
        if CustomField.objects.filter(key=key).exists():
            raise Conflict(_("A field with this key exists."), fields={"key": "taken"})
        created = CustomField.objects.create(
            key=key,
            label=label,
            type=type,
            choices=cleaned,
            required=required,
            max_length=max_length,
            visible_to_customers=visible_to_customers,
            position=position,
        )
        emit(
            CustomFieldCreated(custom_field_id=created.pk, key=key),
            actor=actor,
            aggregate=("custom_field", created.pk),
        )
    return created


CUSTOM_FIELD_EDITABLE = (
    "label",
    "choices",
    "required",
    "max_length",
    "is_active",
    "visible_to_customers",
    "position",
)


def custom_field_update(*, actor: User, custom_field: CustomField, **changes: Any) -> CustomField:
    """Change a definition. Key and type are fixed: stored ticket values depend on them."""
    _require_admin(actor)
    unknown = set(changes) - set(CUSTOM_FIELD_EDITABLE)
    if unknown:
        raise ValidationError(_("Unknown fields."), fields={name: "unknown" for name in unknown})
    if "label" in changes:
        changes["label"] = (changes["label"] or "").strip()
        if not changes["label"]:
            raise ValidationError(_("Label is required."), fields={"label": "required"})
    if "choices" in changes:
        changes["choices"] = _clean_choices(custom_field.type, changes["choices"] or [])
    with transaction.atomic():
        diff = _apply(custom_field, changes)
        if diff:
            custom_field.save(update_fields=list(diff))
            emit(
                CustomFieldUpdated(custom_field_id=custom_field.pk, changes=diff),
                actor=actor,
                aggregate=("custom_field", custom_field.pk),
            )
    return custom_field


# --- tags and status settings -----------------------------------------------------------


def tag_list(*, actor: User, q: str = "") -> QuerySet[Tag]:
    """Tags by name prefix (staff: customers do not see tags)."""
    if not actor.is_staff_member:
        return Tag.objects.none()
    queryset = Tag.objects.order_by("name")
    q = slugify(q.strip(), allow_unicode=True)
    return queryset.filter(name__startswith=q) if q else queryset


def status_config_list() -> QuerySet[StatusConfig]:
    return StatusConfig.objects.order_by("position")


def status_config_update(
    *, actor: User, status: str, pauses_sla: bool | None = None, position: int | None = None
) -> StatusConfig:
    """Change whether a status pauses SLA clocks, or where it is listed (admins)."""
    _require_admin(actor)
    if status not in Status.values:
        raise ValidationError(_("Unknown status."), fields={"status": "invalid"})
    changes: dict[str, Any] = {}
    if pauses_sla is not None:
        changes["pauses_sla"] = pauses_sla
    if position is not None:
        changes["position"] = position
    with transaction.atomic():
        config, _created = StatusConfig.objects.select_for_update().get_or_create(status=status)
        diff = _apply(config, changes)
        if diff:
            config.save(update_fields=list(diff))
            emit(
                StatusConfigUpdated(status=status, changes=diff),
                actor=actor,
                aggregate=("status_config", status),
            )
    return config
