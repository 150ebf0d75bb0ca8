"""The desk's admin screens (`/desk/admin/`): users, teams and lines, organizations,
categories, custom fields, statuses; API tokens live on the integrations page.

Admins change things, supervisors read, other agents get 403 and customers 404. Every
change goes through the accounts/catalog services (validated, evented); lists that can be
long (users, organizations) are keyset-paginated like the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts import services as accounts_services
from helpline.accounts.models import STAFF_ROLES, Organization, Role, SupportPlan, Team, User
from helpline.api import InvalidCursor, PageParams, paginate
from helpline.core.forms import save_form
from helpline.core.middleware import AuthenticatedRequest
from helpline.tickets import catalog
from helpline.tickets.forms import category_choices
from helpline.tickets.forms_admin import (
    CategoryForm,
    CustomFieldForm,
    MembershipForm,
    OrganizationForm,
    StatusForm,
    TeamForm,
    UserForm,
)
from helpline.tickets.models import Status
from helpline.tickets.views_desk import staff_only

ADMIN_PAGE_SIZE = 50
SECTIONS = [
    ("users", gettext_lazy("Users")),
    ("teams", gettext_lazy("Teams and lines")),
    ("organizations", gettext_lazy("Organizations")),
    ("categories", gettext_lazy("Categories")),
    ("custom_fields", gettext_lazy("Custom fields")),
    ("statuses", gettext_lazy("Statuses")),
]


def supervisor_area(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins and supervisors only (403 for other agents), also for POST."""

    @staff_only
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role not in (Role.ADMIN, Role.SUPERVISOR):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def admin_area(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins and supervisors only (403 for other agents); POST for admins only."""

    @supervisor_area
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and request.user.role != Role.ADMIN:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _context(request: AuthenticatedRequest, section: str, **extra: Any) -> dict[str, Any]:
    return {
        "area": "desk",
        "desk_section": "admin",
        "sections": SECTIONS,
        "section": section,
        "section_title": dict(SECTIONS).get(section, ""),
        "can_edit": request.user.role == Role.ADMIN,
        **extra,
    }


def _save(request: HttpRequest, form: Any, change: Callable[[dict[str, Any]], Any]) -> bool:
    """Validate the form and run the service (domain errors land on the form); say so."""

    def run() -> bool:
        change(form.cleaned_data)
        return True

    if not save_form(form, run):
        return False
    messages.success(request, _("Saved."))
    return True


def _list_page(
    request: AuthenticatedRequest,
    section: str,
    *,
    form: Any,
    create: Callable[[dict[str, Any]], Any],
    form_title: str,
    listing: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """A list screen with the form for a new item: a valid POST creates it and comes back;
    otherwise the list (`listing`: headers, rows and the rest of the list's context) and
    the form with its errors."""
    if request.method == "POST" and _save(request, form, create):
        return HttpResponseRedirect(request.path)
    context = _context(request, section, form=form, form_title=form_title, **listing())
    return render(request, "tickets/desk/admin/list.html", context)


def _edit_page(
    request: AuthenticatedRequest,
    section: str,
    *,
    form: Any,
    update: Callable[[dict[str, Any]], Any],
    title: str,
    back: str,
) -> HttpResponse:
    """An edit screen: a valid POST saves and comes back; otherwise the form with its
    errors."""
    if request.method == "POST" and _save(request, form, update):
        return HttpResponseRedirect(request.path)
    context = _context(request, section, form=form, title=title, back=back)
    return render(request, "tickets/desk/admin/edit.html", context)


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> dict[str, Any]:
    cursor = request.GET.get("cursor")
    try:
        return paginate(queryset, PageParams(cursor=cursor, limit=ADMIN_PAGE_SIZE), order_by="id")
    except InvalidCursor:
        return paginate(queryset, PageParams(limit=ADMIN_PAGE_SIZE), order_by="id")


def _ref(queryset: Any, value: Any) -> Any:
    """A chosen reference (organization, plan, team...) or None; unknown ids are None."""
    return queryset.filter(pk=value).first() if value else None


def _organizations() -> list[tuple[str, str]]:
    return [(str(o.pk), o.name) for o in Organization.objects.order_by("name").only("pk", "name")]


def _agents() -> list[tuple[str, str]]:
    agents = User.objects.filter(role__in=sorted(STAFF_ROLES), is_active=True).order_by("email")
    return [(str(user.pk), f"{user.name} <{user.email}>") for user in agents]


def _departments() -> list[tuple[str, str]]:
    return [(str(t.pk), t.name) for t in Team.objects.filter(kind=Team.Kind.DEPARTMENT)]


@admin_area
def admin_index(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "tickets/desk/admin/index.html", _context(request, ""))


# --- users ----------------------------------------------------------------------------------


def _user_row(user: User) -> dict[str, Any]:
    return {
        "url": reverse("tickets:desk_admin_user", args=[user.pk]),
        "cells": [
            user.name,
            user.email,
            user.get_role_display(),
            user.organization.name if user.organization else "—",
            _("active") if user.is_active else _("inactive"),
        ],
    }


@admin_area
def admin_users(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    form = UserForm(request.POST or None, organizations=_organizations(), auto_id="user-%s")

    def create(data: dict[str, Any]) -> None:
        accounts_services.user_create(
            actor=actor,
            email=data["email"],
            role=data["role"],
            display_name=data["display_name"],
            organization=_ref(Organization.objects, data["organization"]),
            phone=data["phone"],
            language=data["language"],
        )

    def listing() -> dict[str, Any]:
        q = (request.GET.get("q") or "").strip()[:200]
        role = request.GET.get("role") or None
        users = accounts_selectors.user_list(
            actor=actor, q=q, role=role if role in Role.values else None
        ).select_related("organization")
        page = _page(request, users)
        return {
            "headers": [_("Name"), _("E-mail address"), _("Role"), _("Organization"), _("State")],
            "rows": [_user_row(user) for user in page["items"]],
            "next_cursor": page["next_cursor"],
            "search": q,
            "roles": Role.choices,
            "role": role,
        }

    return _list_page(
        request, "users", form=form, create=create, form_title=_("New user"), listing=listing
    )


@admin_area
def admin_user(request: AuthenticatedRequest, user_id: int) -> HttpResponse:
    actor = request.user
    user = accounts_selectors.access_user(actor, user_id)
    initial = {
        "display_name": user.display_name,
        "role": user.role,
        "organization": user.organization_id or "",
        "phone": user.phone,
        "language": user.language,
        "is_active": user.is_active,
    }
    form = UserForm(
        request.POST or None,
        initial=initial,
        organizations=_organizations(),
        edit=True,
        auto_id="user-%s",
    )

    def update(data: dict[str, Any]) -> None:
        data = {**data, "organization": _ref(Organization.objects, data["organization"])}
        accounts_services.user_update(actor=actor, user=user, **data)

    return _edit_page(
        request,
        "users",
        form=form,
        update=update,
        title=f"{user.name} <{user.email}>",
        back="desk_admin_users",
    )


# --- teams and lines ------------------------------------------------------------------------


@admin_area
def admin_teams(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    form = TeamForm(request.POST or None, departments=_departments(), auto_id="team-%s")

    def create(data: dict[str, Any]) -> None:
        accounts_services.team_create(
            actor=actor,
            name=data["name"],
            kind=data["kind"],
            level=data["level"],
            department=_ref(Team.objects, data["department"]),
            description=data["description"],
            is_default=data["is_default"],
        )

    def listing() -> dict[str, Any]:
        teams = accounts_selectors.team_list(actor=actor).select_related("department")
        rows = [
            {
                "url": reverse("tickets:desk_admin_team", args=[team.pk]),
                "cells": [
                    team.name,
                    team.get_kind_display(),
                    team.level or "—",
                    team.department.name if team.department else "—",
                    ", ".join(m.user.name for m in team.teammembership_set.all()) or "—",
                ],
            }
            for team in teams
        ]
        headers = [_("Name"), _("Kind"), _("Line level"), _("Department"), _("Members")]
        return {"headers": headers, "rows": rows}

    return _list_page(
        request,
        "teams",
        form=form,
        create=create,
        form_title=_("New team or line"),
        listing=listing,
    )


@admin_area
def admin_team(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    actor = request.user
    team = accounts_selectors.access_team(actor, team_id)
    initial = {
        "name": team.name,
        "level": team.level,
        "department": team.department_id or "",
        "description": team.description,
        "is_default": team.is_default,
    }
    post = request.POST if request.POST.get("form") == "team" else None
    form = TeamForm(post, initial=initial, departments=_departments(), edit=True, auto_id="team-%s")
    member_post = request.POST if request.POST.get("form") == "member" else None
    member_form = MembershipForm(member_post, agents=_agents(), auto_id="member-%s")

    def update(data: dict[str, Any]) -> None:
        changes = {**data, "department": _ref(Team.objects, data["department"])}
        if team.kind == Team.Kind.DEPARTMENT:
            changes.pop("level")
            changes.pop("department")
        accounts_services.team_update(actor=actor, team=team, **changes)

    def add_member(data: dict[str, Any]) -> None:
        user = accounts_selectors.access_user(actor, int(data["user"]))
        accounts_services.team_set_member(
            actor=actor, team=team, user=user, member=True, is_lead=data["is_lead"]
        )

    if request.method == "POST":
        if request.POST.get("form") == "remove":
            user = accounts_selectors.access_user(actor, _int(request.POST.get("user")))
            accounts_services.team_set_member(actor=actor, team=team, user=user, member=False)
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(request.path)
        if post is not None and _save(request, form, update):
            return HttpResponseRedirect(request.path)
        if member_post is not None and _save(request, member_form, add_member):
            return HttpResponseRedirect(request.path)
    context = _context(
        request,
        "teams",
        form=form,
        form_name="team",
        title=team.name,
        back="desk_admin_teams",
        team=team,
        memberships=list(team.teammembership_set.all()),
        member_form=member_form,
    )
    return render(request, "tickets/desk/admin/edit.html", context)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- organizations --------------------------------------------------------------------------


def _plans() -> list[tuple[str, str]]:
    return [(str(plan.pk), plan.name) for plan in SupportPlan.objects.order_by("name")]


def _org_changes(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "plan": _ref(SupportPlan.objects, data["plan"]),
        "service_manager": _ref(
            User.objects.filter(role__in=sorted(STAFF_ROLES)), data["service_manager"]
        ),
    }


@admin_area
def admin_organizations(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    form = OrganizationForm(
        request.POST or None, plans=_plans(), agents=_agents(), auto_id="org-%s"
    )

    def create(data: dict[str, Any]) -> None:
        accounts_services.organization_create(actor=actor, **_org_changes(data))

    def listing() -> dict[str, Any]:
        q = (request.GET.get("q") or "").strip()[:200]
        organizations = accounts_selectors.organization_list(actor=actor, q=q).select_related(
            "service_manager"
        )
        page = _page(request, organizations)
        rows = [
            {
                "url": reverse("tickets:desk_admin_organization", args=[org.pk]),
                "cells": [
                    org.name,
                    org.plan.name if org.plan else "—",
                    org.service_manager.name if org.service_manager else "—",
                    ", ".join(org.domains) or "—",
                ],
            }
            for org in page["items"]
        ]
        return {
            "headers": [_("Name"), _("Support plan"), _("Service manager"), _("E-mail domains")],
            "rows": rows,
            "next_cursor": page["next_cursor"],
            "search": q,
        }

    return _list_page(
        request,
        "organizations",
        form=form,
        create=create,
        form_title=_("New organization"),
        listing=listing,
    )


@admin_area
def admin_organization(request: AuthenticatedRequest, organization_id: int) -> HttpResponse:
    actor = request.user
    org = accounts_selectors.access_organization(actor, organization_id)
    initial = {
        "name": org.name,
        "domains": ", ".join(org.domains),
        "match_by_domain": org.match_by_domain,
        "members_see_all_tickets": org.members_see_all_tickets,
        "plan": org.plan_id or "",
        "service_manager": org.service_manager_id or "",
        "notes": org.notes,
    }
    form = OrganizationForm(
        request.POST or None, initial=initial, plans=_plans(), agents=_agents(), auto_id="org-%s"
    )

    def update(data: dict[str, Any]) -> None:
        accounts_services.organization_update(actor=actor, organization=org, **_org_changes(data))

    return _edit_page(
        request,
        "organizations",
        form=form,
        update=update,
        title=org.name,
        back="desk_admin_organizations",
    )


# --- categories -----------------------------------------------------------------------------


def _category_choices(actor: User) -> list[tuple[str, str]]:
    return category_choices(catalog.category_tree(actor=actor, include_inactive=True))


@admin_area
def admin_categories(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    choices = _category_choices(actor)
    form = CategoryForm(request.POST or None, categories=choices, auto_id="category-%s")

    def create(data: dict[str, Any]) -> None:
        parent = catalog.access_category(actor, int(data["parent"])) if data["parent"] else None
        catalog.category_create(
            actor=actor, name=data["name"], parent=parent, description=data["description"]
        )

    def listing() -> dict[str, Any]:
        active = set(
            catalog.visible_categories(actor).filter(is_active=True).values_list("pk", flat=True)
        )
        rows = [
            {
                "url": reverse("tickets:desk_admin_category", args=[int(pk)]),
                "cells": [name, _("in use") if int(pk) in active else _("not in use")],
            }
            for pk, name in choices
        ]
        return {"headers": [_("Name"), _("State")], "rows": rows}

    return _list_page(
        request,
        "categories",
        form=form,
        create=create,
        form_title=_("New category"),
        listing=listing,
    )


@admin_area
def admin_category(request: AuthenticatedRequest, category_id: int) -> HttpResponse:
    actor = request.user
    category = catalog.access_category(actor, category_id)
    choices = [c for c in _category_choices(actor) if c[0] != str(category.pk)]
    initial = {
        "name": category.name,
        "parent": category.parent_id or "",
        "description": category.description,
        "is_active": category.is_active,
    }
    form = CategoryForm(
        request.POST or None, initial=initial, categories=choices, edit=True, auto_id="category-%s"
    )

    def update(data: dict[str, Any]) -> None:
        parent = catalog.access_category(actor, int(data["parent"])) if data["parent"] else None
        catalog.category_update(actor=actor, category=category, **{**data, "parent": parent})

    return _edit_page(
        request,
        "categories",
        form=form,
        update=update,
        title=category.name,
        back="desk_admin_categories",
    )


# --- custom fields --------------------------------------------------------------------------


@admin_area
def admin_custom_fields(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    form = CustomFieldForm(request.POST or None, auto_id="field-%s")

    def create(data: dict[str, Any]) -> None:
        catalog.custom_field_create(actor=actor, **data)

    def listing() -> dict[str, Any]:
        rows = [
            {
                "url": reverse("tickets:desk_admin_custom_field", args=[field.pk]),
                "cells": [
                    field.label,
                    field.key,
                    field.get_type_display(),
                    _("yes") if field.required else _("no"),
                    _("in use") if field.is_active else _("not in use"),
                ],
            }
            for field in catalog.custom_field_list(actor=actor, include_inactive=True)
        ]
        headers = [_("Label"), _("Key"), _("Type"), _("Required"), _("State")]
        return {"headers": headers, "rows": rows}

    return _list_page(
        request,
        "custom_fields",
        form=form,
        create=create,
        form_title=_("New custom field"),
        listing=listing,
    )


@admin_area
def admin_custom_field(request: AuthenticatedRequest, field_id: int) -> HttpResponse:
    actor = request.user
    field = catalog.access_custom_field(actor, field_id)
    initial = {
        "label": field.label,
        "choices": ", ".join(map(str, field.choices)),
        "required": field.required,
        "max_length": field.max_length,
        "visible_to_customers": field.visible_to_customers,
        "position": field.position,
        "is_active": field.is_active,
    }
    form = CustomFieldForm(request.POST or None, initial=initial, edit=True, auto_id="field-%s")

    def update(data: dict[str, Any]) -> None:
        catalog.custom_field_update(actor=actor, custom_field=field, **data)

    return _edit_page(
        request,
        "custom_fields",
        form=form,
        update=update,
        title=f"{field.label} ({field.key})",
        back="desk_admin_custom_fields",
    )


# --- statuses -------------------------------------------------------------------------------


@admin_area
def admin_statuses(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    configs = {config.status: config for config in catalog.status_config_list()}
    if request.method == "POST":
        status = request.POST.get("status", "")
        form = StatusForm(request.POST)

        def update(data: dict[str, Any]) -> None:
            catalog.status_config_update(actor=actor, status=status, **data)

        if _save(request, form, update):
            return HttpResponseRedirect(request.path)
        reasons = " ".join(str(error) for errors in form.errors.values() for error in errors)
        messages.error(request, _("The status settings were not saved.") + " " + reasons)
    rows = []
    for index, status in enumerate(Status):
        config = configs.get(status.value)
        initial = {
            "pauses_sla": config.pauses_sla if config else False,
            "position": config.position if config else index,
        }
        rows.append(
            {
                "status": status,
                "form": StatusForm(initial=initial, auto_id=f"status-{status.value}-%s"),
            }
        )
    context = _context(request, "statuses", statuses=rows)
    return render(request, "tickets/desk/admin/statuses.html", context)
