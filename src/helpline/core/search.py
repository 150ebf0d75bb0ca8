"""Full-text ticket search: one interface, two backends (SQLite FTS5, PostgreSQL tsvector).

Both backends index the same lexemes, made here in Python so that they match identically:

* words of alphabetic scripts are lower-cased, `ё` folded to `е`, and stemmed with the Snowball
  stemmer of their script (Cyrillic: Russian, Latin: English), so "принтер", "принтера" and
  "принтеры" are one lexeme, as are "printer" and "printers";
* CJK text has no spaces, so every ideograph/kana/hangul run is indexed as its single characters
  and its overlapping character pairs. A query run of one character matches the character, a
  longer run matches all its pairs: "打印机" finds "办公室的打印机坏了".

Each ticket has one search document in four parts: subject, requester (name and e-mail), public
messages and internal notes. Searches for customers never look at internal notes.

SQLite: an FTS5 table (`core_search_ticket`, `unicode61` tokenizer over the lexemes, column
filters for the parts). PostgreSQL: a table of `tsvector`s built with `array_to_tsvector` (so
PostgreSQL's parser never re-splits our lexemes) and weights A-D for the parts, under a GIN
index; customer queries restrict matches to weights A-C.

The last word of a query also matches as a prefix ("instant" search while typing), when it has
at least `PREFIX_MIN` characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

PREFIX_MIN = 3
MAX_LEXEME = 60
MAX_PART_CHARS = 200_000
MAX_QUERY_TERMS = 16

PARTS = ("subject", "requester", "public", "internal")
PUBLIC_PARTS = PARTS[:3]
_WEIGHTS = {"subject": "A", "requester": "B", "public": "C", "internal": "D"}

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
)
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    if word.isdigit():
        return word[:MAX_LEXEME]
    language = "russian" if _CYRILLIC.search(word) else "english"
    return str(_stemmer(language).stemWord(word))[:MAX_LEXEME]


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("ё", "е")


def _cjk_grams(run: str) -> Iterator[str]:
    yield from run
    for index in range(len(run) - 1):
        yield run[index : index + 2]


def _cjk_cover(run: str) -> tuple[str, ...]:
    """The fewest character pairs that cover a query run: 打印机器 -> 打印, 机器; 打印机 ->
    打印, 印机. Fewer AND-ed lexemes than every pair: cheaper to intersect, and PostgreSQL's
    row estimate (which multiplies as if the pairs were independent) stays closer to truth."""
    if len(run) == 1:
        return (run,)
    starts = list(range(0, len(run) - 1, 2))
    if starts[-1] != len(run) - 2:
        starts.append(len(run) - 2)
    return tuple(dict.fromkeys(run[start : start + 2] for start in starts))


def index_lexemes(text: str) -> list[str]:
    """Lexemes of `text` for the index: stemmed words, CJK characters and character pairs."""
    lexemes: list[str] = []
    for token in _TOKEN.findall(_normalize(text[:MAX_PART_CHARS])):
        if _CJK_RUN.fullmatch(token):
            lexemes.extend(_cjk_grams(token))
        else:
            lexemes.append(_stem(token))
    return lexemes


@dataclass(frozen=True)
class Term:
    """One query term: all its lexemes must match; `prefix` matches the last as a prefix."""

    lexemes: tuple[str, ...]
    prefix: bool = False


def query_terms(query: str) -> list[Term]:
    """Parse a user's query into terms (AND-ed). Punctuation and operators are plain text."""
    normalized = _normalize(query)
    tokens = _TOKEN.findall(normalized)[:MAX_QUERY_TERMS]
    ends_in_word = (
        bool(tokens) and normalized.rstrip() == normalized and normalized.endswith(tokens[-1])
    )
    terms: list[Term] = []
    for position, token in enumerate(tokens):
        if _CJK_RUN.fullmatch(token):
            terms.append(Term(_cjk_cover(token)))
            continue
        last = position == len(tokens) - 1
        if last and ends_in_word and len(token) >= PREFIX_MIN and not token.isdigit():
            # A word being typed: match the stem of what is there, and anything it begins.
            terms.append(Term((_stem(token)[: len(token)],), prefix=True))
        else:
            terms.append(Term((_stem(token),)))
    return terms


@dataclass(frozen=True)
class Document:
    ticket_id: int
    subject: str
    requester: str
    public: str
    internal: str

    def lexemes(self) -> dict[str, list[str]]:
        return {
            part: [word for word in index_lexemes(getattr(self, part)) if word] for part in PARTS
        }


# --- backends --------------------------------------------------------------------------------


class _Backend:
    table = "core_search_ticket"

    def upsert(self, cursor: Any, documents: list[Document]) -> None:
        raise NotImplementedError

    def delete(self, cursor: Any, ticket_ids: list[int]) -> None:
        cursor.execute(
            f"DELETE FROM {self.table} WHERE {self.key} IN ({', '.join(['%s'] * len(ticket_ids))})",  # noqa: S608
            ticket_ids,
        )

    key = "ticket_id"

    def matching_sql(self, terms: list[Term], include_internal: bool) -> tuple[str, list[Any]]:
        raise NotImplementedError


class _SQLite(_Backend):
    key = "rowid"

    def upsert(self, cursor: Any, documents: list[Document]) -> None:
        self.delete(cursor, [document.ticket_id for document in documents])
        cursor.executemany(
            f"INSERT INTO {self.table} (rowid, subject, requester, public, internal) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s)",
            [
                (document.ticket_id, *(" ".join(words) for words in document.lexemes().values()))
                for document in documents
            ],
        )

    def matching_sql(self, terms: list[Term], include_internal: bool) -> tuple[str, list[Any]]:
        clauses = []
        for term in terms:
            quoted = [f'"{lexeme}"' for lexeme in term.lexemes]
            if term.prefix:
                quoted[-1] += "*"
            clauses.append(" AND ".join(quoted))
        expression = " AND ".join(f"({clause})" for clause in clauses)
        if not include_internal:
            expression = "{" + " ".join(PUBLIC_PARTS) + "} : (" + expression + ")"
        sql = f"SELECT rowid FROM {self.table} WHERE {self.table} MATCH %s"  # noqa: S608
        return sql, [expression]


class _PostgreSQL(_Backend):
    def upsert(self, cursor: Any, documents: list[Document]) -> None:
        cursor.executemany(
            f"INSERT INTO {self.table} (ticket_id, document) VALUES (%s, %s::tsvector) "  # noqa: S608
            "ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document",
            [(document.ticket_id, self.vector(document)) for document in documents],
        )

    @staticmethod
    def vector(document: Document) -> str:
        """The tsvector literal: each lexeme once, with a position per part it occurs in.

        Weights in PostgreSQL belong to positions, so part N gets position N and its weight.
        """
        marks: dict[str, list[str]] = {}
        for number, (part, lexemes) in enumerate(document.lexemes().items(), start=1):
            for lexeme in dict.fromkeys(lexemes):
                marks.setdefault(lexeme, []).append(f"{number}{_WEIGHTS[part]}")
        return " ".join(f"{_quote(lexeme)}:{','.join(spots)}" for lexeme, spots in marks.items())

    def matching_sql(self, terms: list[Term], include_internal: bool) -> tuple[str, list[Any]]:
        weights = "" if include_internal else "ABC"
        operands = []
        for term in terms:
            for position, lexeme in enumerate(term.lexemes):
                star = "*" if term.prefix and position == len(term.lexemes) - 1 else ""
                marks = f":{star}{weights}" if star or weights else ""
                operands.append(_quote(lexeme) + marks)
        return (
            f"SELECT ticket_id FROM {self.table} WHERE document @@ %s::tsquery",  # noqa: S608
            [" & ".join(operands)],
        )


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _backend() -> _Backend:
    return _PostgreSQL() if connection.vendor == "postgresql" else _SQLite()


# --- documents from tickets --------------------------------------------------------------------


def _documents(ticket_ids: list[int]) -> list[Document]:
    from helpline.tickets.models import Message, Ticket

    tickets = Ticket.objects.filter(pk__in=ticket_ids).values_list(
        "pk",
        "subject",
        "requester__display_name",
        "requester__first_name",
        "requester__last_name",
        "requester__email",
    )
    texts: dict[int, dict[str, list[str]]] = {
        pk: {"public": [], "internal": []} for pk in ticket_ids
    }
    messages = (
        Message.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "pk")
        .values_list("ticket_id", "kind", "body_text")
    )
    for ticket_id, kind, body in messages.iterator(chunk_size=2000):
        part = "public" if kind == Message.Kind.PUBLIC else "internal"
        texts[ticket_id][part].append(body)
    return [
        Document(
            ticket_id=pk,
            subject=subject,
            requester=f"{display} {first} {last} {email}",
            public="\n".join(texts[pk]["public"]),
            internal="\n".join(texts[pk]["internal"]),
        )
        for pk, subject, display, first, last, email in tickets
    ]


def index_tickets(ticket_ids: Iterable[int]) -> int:
    """(Re)index these tickets; tickets that no longer exist are removed. Returns the count."""
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return 0
    backend = _backend()
    with transaction.atomic(), connection.cursor() as cursor:
        documents = _documents(wanted)
        found = {document.ticket_id for document in documents}
        gone = [pk for pk in wanted if pk not in found]
        if gone:
            backend.delete(cursor, gone)
        if documents:
            backend.upsert(cursor, documents)
    return len(documents)


def index_ticket(ticket_id: int) -> None:
    index_tickets([ticket_id])


def remove_tickets(ticket_ids: Iterable[int]) -> None:
    ids = list(ticket_ids)
    if ids:
        with connection.cursor() as cursor:
            _backend().delete(cursor, ids)


def reindex_all(
    *, batch_size: int = 1000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Rebuild the whole index in batches of tickets; `progress(done, total)` after each."""
    from helpline.tickets.models import Ticket

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_Backend.table}")  # noqa: S608
    total = Ticket.objects.count()
    done = 0
    last = 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        done += index_tickets(ids)
        last = ids[-1]
        if progress:
            progress(done, total)
    return done


def matching_ticket_ids(query: str, *, include_internal: bool) -> RawSQL | list[int]:
    """A lazy subquery of ticket ids matching `query`, for `filter(pk__in=...)`.

    A query with nothing searchable in it (only punctuation, say) matches nothing.
    """
    terms = query_terms(query)
    if not terms:
        return []
    sql, params = _backend().matching_sql(terms, include_internal)
    return RawSQL(sql, params)  # noqa: S611 (lexemes are passed as parameters)
