"""POST /api/v1/tickets/bulk: open up to 100 tickets in one request, all or nothing.

Each item is the JSON body of `POST /tickets` and is treated as that endpoint treats it
(permissions, requester by id or e-mail, routing rules, audit, one `ticket.created` event
per ticket); `tickets:write` scope, one request of the rate limit. Any invalid item: 422
with every item's errors under `tickets.<index>.<field>` and nothing created. Attachments
are refused (422 `tickets.<index>.attachments`): create those tickets with
`POST /tickets/upload`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts.models import User
from helpline.api import InSchema, require_scope
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.tickets import catalog
from helpline.tickets.api import customer_for_email, new_ticket_requester
from helpline.tickets.bulk import MAX_BULK, NewTicket, ticket_create_many
from helpline.tickets.models import Priority, Ticket
from helpline.tickets.schemas import ChannelName, PriorityName, StatusName, TicketCreateIn

router = Router(tags=["tickets"])

WRITE = "tickets:write"


class BulkTicketIn(TicketCreateIn):
    attachments: list[Any] | None = Field(
        None, description="Not accepted here (422): send tickets with files to /tickets/upload."
    )


class BulkCreateIn(InSchema):
    tickets: list[BulkTicketIn] = Field(
        min_length=1, max_length=MAX_BULK, description=f"1 to {MAX_BULK} tickets."
    )


class CreatedTicketOut(Schema):
    id: int = Field(description="The ticket number.")
    subject: str
    status: StatusName
    priority: PriorityName
    channel: ChannelName
    requester_id: int
    organization_id: int | None
    team_id: int | None
    assignee_id: int | None
    category_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_priority(obj: Ticket) -> str:
        return Priority(obj.priority).key


class BulkCreatedOut(Schema):
    tickets: list[CreatedTicketOut] = Field(description="In the order of the request.")


class _Refs:
    """The users, teams and categories the items name, read with one query per kind."""

    def __init__(self, actor: User, items: list[BulkTicketIn]) -> None:
        self.actor = actor
        users = {item.requester_id for item in items if item.requester_id is not None}
        users |= {item.assignee_id for item in items if isinstance(item.assignee_id, int)}
        self.users = (
            accounts_selectors.visible_users(actor).filter(pk__in=users, is_active=True).in_bulk()
            if users
            else {}
        )
        teams = {item.team_id for item in items if item.team_id is not None}
        self.teams = (
            accounts_selectors.team_list(actor=actor).filter(pk__in=teams).in_bulk()
            if teams
            else {}
        )
        categories = {item.category_id for item in items if item.category_id is not None}
        self.categories = (
            catalog.visible_categories(actor).filter(pk__in=categories).in_bulk()
            if categories
            else {}
        )
        self.emails: dict[str, User] = {}

    def requester(self, item: BulkTicketIn, errors: dict[str, str], at: str) -> User | None:
        """`POST /tickets`' requester rules (`tickets.api.new_ticket_requester`), with the
        users read ahead: its field errors go under `at`; a customer's ticket for someone
        else is 403."""
        try:
            return new_ticket_requester(
                self.actor,
                item.requester_id,
                item.requester_email,
                user_ref=self._requester_by_id,
                customer_for=self._customer_for,
            )
        except ValidationError as exc:
            errors.update({f"{at}.{field}": code for field, code in exc.fields.items()})
            return None
        except PermissionDenied as exc:
            raise PermissionDenied(exc.message, fields={at: "forbidden"}) from None

    def _requester_by_id(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ValidationError(_("Unknown user."), fields={"requester_id": "not_found"})
        return user

    def _customer_for(self, email: str) -> User:
        key = email.lower()
        if key not in self.emails:
            self.emails[key] = customer_for_email(self.actor, email)
        return self.emails[key]

    def user(self, user_id: int | str, errors: dict[str, str], field: str) -> User | None:
        if user_id == "me":
            return self.actor
        user = self.users.get(user_id)
        if user is None:
            errors[field] = "not_found"
        return user


def _items(actor: User, payload: BulkCreateIn) -> list[NewTicket]:
    refs = _Refs(actor, payload.tickets)
    errors: dict[str, str] = {}
    items = []
    for index, item in enumerate(payload.tickets):
        at = f"tickets.{index}"
        if item.attachments is not None:
            errors[f"{at}.attachments"] = "not_supported_in_bulk"
        requester = refs.requester(item, errors, at)
        category = team = assignee = None
        if item.category_id is not None:
            category = refs.categories.get(item.category_id)
            if category is None:
                errors[f"{at}.category_id"] = "not_found"
        if item.team_id is not None:
            team = refs.teams.get(item.team_id)
            if team is None:
                errors[f"{at}.team_id"] = "not_found"
        if item.assignee_id is not None:
            assignee = refs.user(item.assignee_id, errors, f"{at}.assignee_id")
        items.append(
            NewTicket(
                subject=item.subject,
                body=item.body,
                body_html=item.body_html,
                requester=requester,
                channel=item.channel,
                priority=item.priority,
                category=category,
                tags=item.tags,
                team=team,
                assignee=assignee,
                custom_fields=item.custom_fields,
            )
        )
    if errors:
        if any(key.endswith(".attachments") for key in errors):
            message = _("Attachments cannot be sent in bulk; use POST /api/v1/tickets/upload.")
        else:
            message = _("Some tickets name unknown users, teams or categories.")
        raise ValidationError(message, fields=errors)
    return items


@router.post("/tickets/bulk", response={201: BulkCreatedOut})
def create_tickets_bulk(request: HttpRequest, payload: BulkCreateIn) -> Any:
    """Open up to 100 tickets at once (each item as the body of `POST /tickets`), all or
    nothing: any invalid item -> 422 with its errors under `tickets.<index>.<field>`."""
    actor = require_scope(request, WRITE)
    # Customers created for requester_email must not outlive a refused batch: one transaction
    # then. Otherwise the references are only read, and the service holds the write
    # transaction (SQLite's one writer lock) just for its inserts, not for the validation.
    creates_users = any(item.requester_email is not None for item in payload.tickets)
    with transaction.atomic() if creates_users else contextlib.nullcontext():
        tickets = ticket_create_many(actor=actor, items=_items(actor, payload))
    return Status(201, {"tickets": tickets})
