"""Who may call which ticket endpoint: the full matrix, every response checked against the
OpenAPI document.

Anonymous -> 401. Whoever may not see the ticket (a customer of another organization, an
agent outside its team) -> 404 with exactly the body of a ticket id that does not exist.
Customers who see it (the requester; a colleague when the organization allows it) read it,
reply, solve and (un)watch it themselves; everything else they get 403. Agents of its team,
supervisors and administrators may do everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from helpline.accounts import services as accounts
from helpline.core.api_testing import api_call
from helpline.integrations import services as tokens
from helpline.tickets import services

MISSING = 999_999


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@dataclass
class Scene:
    ticket: Any
    other: Any
    attachment: Any


@pytest.fixture
def scene(desk):
    """Alice's ticket in L1 with an attachment, a related ticket, and an internal note."""
    ticket = services.ticket_create(
        actor=desk.alice,
        subject="Printer on fire",
        body="It smokes.",
        attachments=[services.AttachmentIn("smoke.jpg", "image/jpeg", b"jpeg")],
    )
    other = services.ticket_create(actor=desk.alice, subject="Printer again", body="Still.")
    services.ticket_link(actor=desk.agent1, ticket=ticket, other=other, kind="related")
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Internal: VIP")
    attachment = ticket.messages.order_by("pk")[0].attachments.get()
    return Scene(ticket=ticket, other=other, attachment=attachment)


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[int, Scene], str]
    kind: str  # read | read_staff | write | write_staff
    success: int = 200
    body: Callable[[Scene, Any], Any] = field(default=lambda scene, desk: None)
    query: dict[str, Any] | None = None


def _ticket(suffix: str = "") -> Callable[[int, Scene], str]:
    return lambda ticket_id, scene: f"/api/v1/tickets/{ticket_id}{suffix}"


ENDPOINTS = [
    Endpoint("get", "get", _ticket(), "read"),
    Endpoint("messages", "get", _ticket("/messages"), "read"),
    Endpoint("links", "get", _ticket("/links"), "read"),
    Endpoint("audit", "get", _ticket("/audit"), "read_staff"),
    Endpoint(
        "attachment",
        "get",
        lambda attachment_id, scene: f"/api/v1/attachments/{attachment_id}",
        "read",
    ),
    Endpoint(
        "patch-fields", "patch", _ticket(), "write_staff", body=lambda s, d: {"priority": "high"}
    ),
    Endpoint("patch-status", "patch", _ticket(), "write", body=lambda s, d: {"status": "solved"}),
    Endpoint("reply", "post", _ticket("/replies"), "write", 201, lambda s, d: {"body": "Thanks"}),
    Endpoint("note", "post", _ticket("/notes"), "write_staff", 201, lambda s, d: {"body": "psst"}),
    Endpoint("status", "post", _ticket("/status"), "write", body=lambda s, d: {"status": "solved"}),
    Endpoint(
        "assign", "post", _ticket("/assign"), "write_staff", body=lambda s, d: {"assignee_id": "me"}
    ),
    Endpoint("unassign", "post", _ticket("/unassign"), "write_staff"),
    Endpoint(
        "transfer",
        "post",
        _ticket("/transfer"),
        "write_staff",
        body=lambda s, d: {"team_id": d.finance_team.pk},
    ),
    Endpoint(
        "escalate",
        "post",
        _ticket("/escalate"),
        "write_staff",
        body=lambda s, d: {"note": "L2 please"},
    ),
    Endpoint(
        "merge", "post", _ticket("/merge"), "write_staff", body=lambda s, d: {"into_id": s.other.pk}
    ),
    Endpoint(
        "link",
        "post",
        _ticket("/links"),
        "write_staff",
        201,
        lambda s, d: {"other_id": s.other.pk, "kind": "parent"},
    ),
    Endpoint(
        "unlink",
        "delete",
        lambda ticket_id, s: f"/api/v1/tickets/{ticket_id}/links/{s.other.pk}",
        "write_staff",
        204,
        query={"kind": "related"},
    ),
    Endpoint(
        "watch-me", "post", _ticket("/watchers"), "write", body=lambda s, d: {"user_id": "me"}
    ),
    Endpoint(
        "watch-other",
        "post",
        _ticket("/watchers"),
        "write_staff",
        body=lambda s, d: {"user_id": d.supervisor.pk},
    ),
    Endpoint("unwatch-me", "delete", _ticket("/watchers/me"), "write"),
]

SEES_AND_ACTS = ("agent1", "supervisor", "admin")
CUSTOMERS_WHO_SEE = ("alice", "bob")
CANNOT_SEE = ("carol", "dave", "agent2", "finance")


def _call(client: Client, endpoint: Endpoint, scene: Scene, desk: Any, target: int, **kw: Any):
    if endpoint.name == "attachment" and kw.get("expect") == 200:
        return _download(client, endpoint.path(target, scene), **kw)
    return api_call(
        client,
        endpoint.method,
        endpoint.path(target, scene),
        json=endpoint.body(scene, desk),
        query=endpoint.query,
        **kw,
    )


def _download(client: Client, path: str, *, expect: int, user: Any = None, token: Any = None):
    """A successful download is a file, not JSON: check it by hand (api_call cannot)."""
    if user is not None:
        client.force_login(user)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    assert response.status_code == expect, response.content
    assert response["Content-Disposition"] == 'attachment; filename="smoke.jpg"'
    assert response.getvalue() == b"jpeg"
    return response


def _target(endpoint: Endpoint, scene: Scene) -> int:
    return scene.attachment.pk if endpoint.name == "attachment" else scene.ticket.pk


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_anonymous_gets_401(client, desk, scene, endpoint):
    response = _call(client, endpoint, scene, desk, _target(endpoint, scene), expect=401)
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("viewer", SEES_AND_ACTS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_staff_who_see_the_ticket_may_do_everything(client, desk, scene, endpoint, viewer):
    _call(
        client,
        endpoint,
        scene,
        desk,
        _target(endpoint, scene),
        user=getattr(desk, viewer),
        expect=endpoint.success,
    )


@pytest.mark.parametrize("viewer", CUSTOMERS_WHO_SEE)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_customers_who_see_the_ticket(client, desk, scene, endpoint, viewer):
    # given the requester (alice) or her colleague at Acme, which shares tickets
    user = getattr(desk, viewer)
    allowed = endpoint.kind in ("read", "write")
    expect = endpoint.success if allowed else 403
    response = _call(
        client, endpoint, scene, desk, _target(endpoint, scene), user=user, expect=expect
    )
    if not allowed:
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("viewer", CANNOT_SEE)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_who_cannot_see_the_ticket_gets_the_missing_ticket_404(
    client, desk, scene, endpoint, viewer
):
    user = getattr(desk, viewer)
    forbidden = _call(
        client, endpoint, scene, desk, _target(endpoint, scene), user=user, expect=404
    )
    missing = _call(client, endpoint, scene, desk, MISSING, expect=404)
    assert forbidden.json() == missing.json()
    assert forbidden.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_colleague_sees_nothing_when_the_organization_keeps_tickets_private(
    client, desk, scene, endpoint
):
    # given Acme no longer shares tickets among its members
    accounts.organization_update(
        actor=desk.admin, organization=desk.acme, members_see_all_tickets=False
    )
    # then bob is treated as a stranger to alice's ticket
    target = _target(endpoint, scene)
    forbidden = _call(client, endpoint, scene, desk, target, user=desk.bob, expect=404)
    missing = _call(client, endpoint, scene, desk, MISSING, expect=404)
    assert forbidden.json() == missing.json()
    # while alice herself still gets through the visibility check
    api_call(Client(), "get", f"/api/v1/tickets/{scene.ticket.pk}", user=desk.alice, expect=200)


def test_list_is_scoped_to_the_viewer(client, desk, scene):
    globex = services.ticket_create(actor=desk.carol, subject="Globex", body="x")
    l2 = services.ticket_create(
        actor=desk.agent2, requester=desk.dave, subject="Dave", body="x", team=desk.l2
    )
    own = {scene.ticket.pk, scene.other.pk}
    expected = {
        "alice": own,
        "bob": own,
        "carol": {globex.pk},
        "dave": {l2.pk},
        "agent1": own | {globex.pk},
        "agent2": {l2.pk},
        "finance": set(),
        "supervisor": own | {globex.pk, l2.pk},
        "admin": own | {globex.pk, l2.pk},
    }
    for viewer, ids in expected.items():
        body = api_call(
            Client(), "get", "/api/v1/tickets", user=getattr(desk, viewer), expect=200
        ).json()
        assert {t["id"] for t in body["items"]} == ids, viewer
    api_call(client, "get", "/api/v1/tickets", expect=401)
    api_call(client, "get", "/api/v1/search", query={"q": "printer"}, expect=401)


def test_an_assigned_agent_outside_the_team_sees_the_ticket(client, desk, scene):
    services.ticket_assign(actor=desk.admin, ticket=scene.ticket, assignee=desk.supervisor)
    services.ticket_transfer(actor=desk.admin, ticket=scene.ticket, team=desk.l2)
    api_call(client, "get", f"/api/v1/tickets/{scene.ticket.pk}", user=desk.agent1, expect=404)
    api_call(Client(), "get", f"/api/v1/tickets/{scene.ticket.pk}", user=desk.agent2, expect=200)


def test_customers_never_see_internal_notes_or_their_attachments(client, desk, scene):
    note = services.ticket_add_note(
        actor=desk.agent1,
        ticket=scene.ticket,
        body="See the scan",
        attachments=[services.AttachmentIn("scan.pdf", "application/pdf", b"%PDF")],
    )
    hidden = note.attachments.get()
    for customer in (desk.alice, desk.bob):
        customer_client = Client()
        body = api_call(
            customer_client,
            "get",
            f"/api/v1/tickets/{scene.ticket.pk}/messages",
            user=customer,
            expect=200,
        ).json()
        assert [m["kind"] for m in body["items"]] == ["public"]
        forbidden = api_call(
            customer_client, "get", f"/api/v1/attachments/{hidden.pk}", expect=404
        ).json()
        missing = api_call(customer_client, "get", f"/api/v1/attachments/{MISSING}").json()
        assert forbidden == missing
    staff = Client()
    staff.force_login(desk.agent1)
    assert staff.get(f"/api/v1/attachments/{hidden.pk}").status_code == 200


# --- token scopes -----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_token_scopes(client, desk, scene, endpoint):
    # given two tokens of agent1: one that only reads tickets, one that only writes them
    _token, read_only = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="read", scopes=["tickets:read"]
    )
    _token, write_only = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="write", scopes=["tickets:write"]
    )
    reads = endpoint.kind.startswith("read")
    right, wrong = (read_only, write_only) if reads else (write_only, read_only)
    target = _target(endpoint, scene)
    denied = _call(Client(), endpoint, scene, desk, target, token=wrong, expect=403)
    assert denied.json()["error"]["code"] == "insufficient_scope"
    assert denied.json()["error"]["fields"] == {
        "scope": "tickets:read" if reads else "tickets:write"
    }
    _call(Client(), endpoint, scene, desk, target, token=right, expect=endpoint.success)


def test_search_needs_tickets_read_not_search_read(client, desk, scene):
    _token, search_only = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="search", scopes=["search:read"]
    )
    _token, tickets_read = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="tickets", scopes=["tickets:read"]
    )
    denied = api_call(
        client, "get", "/api/v1/search", token=search_only, query={"q": "printer"}, expect=403
    )
    assert denied.json()["error"]["fields"] == {"scope": "tickets:read"}
    # with tickets:read the request gets past the scope check (to the query validation here)
    api_call(Client(), "get", "/api/v1/search", token=tickets_read, expect=422)


def test_customer_token_reads_only_own_tickets(client, desk, scene):
    _token, secret = tokens.token_create(
        actor=desk.carol, user=desk.carol, name="cli", scopes=["tickets:read", "tickets:write"]
    )
    api_call(client, "get", f"/api/v1/tickets/{scene.ticket.pk}", token=secret, expect=404)
    body = api_call(
        client,
        "post",
        "/api/v1/tickets",
        token=secret,
        json={"subject": "From the CLI", "body": "hi"},
        expect=201,
    ).json()
    assert body["requester"]["id"] == desk.carol.pk
