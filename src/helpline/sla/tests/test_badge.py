"""The SLA badge: time left, and its colour past the warning threshold and the deadline."""

from __future__ import annotations

from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from helpline.tickets.models import Ticket


def test_badge_shows_time_left_warning_and_breach(desk, clock, standard, open_ticket):
    ticket = Ticket.objects.get(pk=open_ticket().pk)
    html = render_to_string("sla/_badge.html", {"ticket": ticket})
    assert 'data-sla="ok"' in html and "SLA 1\xa0hour left" in html
    clock.set(2026, 3, 9, 9, 46)
    html = render_to_string("sla/_badge.html", {"ticket": Ticket.objects.get(pk=ticket.pk)})
    assert 'data-sla="warning"' in html and "14\xa0minutes left" in html
    clock.set(2026, 3, 9, 10, 5)
    html = render_to_string("sla/_badge.html", {"ticket": Ticket.objects.get(pk=ticket.pk)})
    assert 'data-sla="breached"' in html and "breached 5\xa0minutes ago" in html


def test_badges_of_a_queue_cost_one_query(desk, clock, standard, open_ticket):
    for _ in range(5):
        open_ticket()
    tickets = list(Ticket.objects.order_by("pk"))
    with CaptureQueriesContext(connection) as queries:
        for ticket in tickets:
            render_to_string("sla/_badge.html", {"ticket": ticket, "tickets": tickets})
    assert len(queries) == 1


def test_no_badge_without_a_running_clock(desk, clock, open_ticket):
    ticket = Ticket.objects.get(pk=open_ticket().pk)
    assert render_to_string("sla/_badge.html", {"ticket": ticket}).strip() == ""


def test_desk_queue_shows_badges_and_sorts_breaching_soonest_first(
    client, desk, clock, standard, open_ticket
):
    from helpline.tickets import services as tickets

    early = open_ticket()
    clock.set(2026, 3, 9, 9, 30)
    late = open_ticket()
    without = open_ticket()
    clock.set(2026, 3, 9, 9, 50)  # early is past its 75 % warning, late is not
    Ticket.objects.filter(pk=without.pk).update(sla_due_at=None)
    for ticket in (early, late, without):
        tickets.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
    client.force_login(desk.agent1)
    page = client.get("/desk/", {"view": "mine", "sort": "sla"}).content.decode()
    rows = [f'data-ticket="{t.pk}"' for t in (early, late)]
    assert page.index(rows[0]) < page.index(rows[1])
    assert f'data-ticket="{without.pk}"' not in page  # no clock: not in this order
    assert page.count('data-sla="warning"') == 1 and page.count('data-sla="ok"') == 1
    detail = client.get(f"/desk/tickets/{early.pk}/").content.decode()
    assert 'data-sla="warning"' in detail
