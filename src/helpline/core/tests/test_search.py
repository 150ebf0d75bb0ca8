"""Full-text search: Russian word forms, Chinese without spaces, scoping, hostile input."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.core import search
from helpline.tickets import services
from helpline.tickets.models import Ticket
from helpline.tickets.selectors import TicketFilters, ticket_list


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service and then its after-commit hooks (event dispatch, hence indexing)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def found(actor, q):
    return set(ticket_list(actor=actor, filters=TicketFilters(q=q)).values_list("pk", flat=True))


@pytest.fixture
def make(desk, committed):
    def create(subject, body, requester=None):
        return committed(
            services.ticket_create,
            actor=desk.agent1,
            requester=requester or desk.alice,
            subject=subject,
            body=body,
        )

    return create


def test_lexemes_stem_russian_and_english_and_split_cjk():
    assert search.index_lexemes("Принтеры") == search.index_lexemes("принтера")
    assert search.index_lexemes("printers") == search.index_lexemes("printer")
    assert search.index_lexemes("ёлка") == search.index_lexemes("елка")
    # A CJK run: its characters, then its overlapping pairs
    assert search.index_lexemes("打印机") == ["打", "印", "机", "打印", "印机"]


def test_query_terms_prefix_only_for_a_word_being_typed():
    assert search.query_terms("vpn tunn") == [
        search.Term(("vpn",)),
        search.Term(("tunn",), prefix=True),
    ]
    assert search.query_terms("vpn tunnel ")[-1].prefix is False
    assert search.query_terms("printer.")[-1].prefix is False
    assert search.query_terms("打印机") == [search.Term(("打印", "印机"))]
    assert search.query_terms("电子发票") == [search.Term(("电子", "发票"))]
    assert search.query_terms("网络打印机") == [search.Term(("网络", "打印", "印机"))]
    assert search.query_terms("!!! ??? ---") == []


def test_russian_word_forms_match(desk, make):
    hit = make("Не работает принтер", "Принтеры на третьем этаже не печатают")
    make("Вопрос по счёту", "Пришлите, пожалуйста, акт")
    assert found(desk.agent1, "принтера") == {hit.pk}
    assert found(desk.agent1, "печатает") == {hit.pk}
    assert found(desk.agent1, "счет") == found(desk.agent1, "счёта") != set()


def test_chinese_substrings_match_without_spaces(desk, make):
    hit = make("办公室的打印机坏了", "无法连接到网络打印机，请帮忙")
    other = make("发票问题", "请重新开具发票")
    assert found(desk.agent1, "打印机") == {hit.pk}
    assert found(desk.agent1, "网络") == {hit.pk}
    assert found(desk.agent1, "票") == {other.pk}  # a single character
    assert found(desk.agent1, "打印 发票") == set()  # every term must match
    assert found(desk.agent1, "印发") == set()  # no such pair in either text


def test_english_stems_prefixes_and_requester(desk, make):
    hit = make("VPN tunnels keep dropping", "Since Monday the connection drops")
    make("Invoice", "Please resend", requester=desk.bob)
    assert found(desk.agent1, "tunnel") == {hit.pk}
    assert found(desk.agent1, "dropped connections") == {hit.pk}
    assert found(desk.agent1, "conne") == {hit.pk}  # typed so far
    assert found(desk.agent1, desk.bob.email) != {hit.pk}
    assert hit.pk not in found(desk.agent1, desk.bob.email)
    assert hit.pk in found(desk.agent1, desk.alice.email.split("@")[0])


def test_replies_notes_and_subject_changes_are_indexed(desk, make, committed):
    ticket = make("Laptop", "The screen flickers")
    committed(
        services.ticket_reply,
        actor=desk.agent1,
        ticket=ticket,
        body="Try the docking station firmware",
    )
    committed(
        services.ticket_add_note, actor=desk.agent1, ticket=ticket, body="Known defect batch zebra"
    )
    committed(services.ticket_update, actor=desk.agent1, ticket=ticket, subject="Monitor flicker")
    assert found(desk.agent1, "firmware") == {ticket.pk}
    assert found(desk.agent1, "zebra") == {ticket.pk}
    assert found(desk.agent1, "monitor") == {ticket.pk}
    assert found(desk.agent1, "laptop") == set()


def test_customers_never_match_internal_notes(desk, make, committed):
    ticket = make("Password reset", "I forgot my password")
    committed(
        services.ticket_add_note,
        actor=desk.agent1,
        ticket=ticket,
        body="customer owes money, ostrich",
    )
    assert found(desk.agent1, "ostrich") == {ticket.pk}
    assert found(desk.alice, "ostrich") == set()
    assert found(desk.alice, "password") == {ticket.pk}
    # and search stays inside what the viewer may see
    assert found(desk.carol, "password") == set()


def test_merge_moves_text_to_the_target(desk, make, committed):
    source = make("Mouse broken", "The wireless mouse is dead")
    target = make("Keyboard broken", "Keys stick")
    committed(services.ticket_merge, actor=desk.agent1, source=source, target=target)
    assert target.pk in found(desk.agent1, "wireless")


def test_reindex_rebuilds_a_lost_index(desk, make):
    tickets = [make(f"Scanner {index}", "paper feed jams") for index in range(5)]
    search.remove_tickets(t.pk for t in tickets)
    assert found(desk.agent1, "scanner") == set()
    out = io.StringIO()
    call_command("search_reindex", "--batch-size", "2", stdout=out)
    assert "Indexed 5 tickets" in out.getvalue()
    assert found(desk.agent1, "scanner") == {t.pk for t in tickets}


def test_deleted_tickets_leave_the_index(desk, make):
    ticket = make("Projector", "no signal")
    pk = ticket.pk
    Ticket.objects.filter(pk=pk).delete()
    search.index_ticket(pk)
    assert search.index_tickets([pk]) == 0
    assert not Ticket.objects.filter(
        pk__in=search.matching_ticket_ids("projector", include_internal=True)
    ).exists()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=80))
def test_any_query_is_safe(desk, query):
    # FTS5 and tsquery syntax characters, quotes, NULs: never an error, only results
    ids = found(desk.agent1, query)
    assert isinstance(ids, set)


@pytest.mark.parametrize(
    "query", ['"', "'", "a AND OR NOT", "NEAR(x y)", "col:val", "x* ^y", "\\", "&|!:*", "\x00"]
)
def test_operator_characters_are_plain_text(desk, make, query):
    hit = make(f"odd {query} subject", "body")
    assert hit.pk in found(desk.agent1, f"odd {query} subject")
