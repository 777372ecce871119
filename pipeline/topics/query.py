"""The watch-topic query language: parse a query string into a small tree.

    query   := or ( "OR" or )*            lowest precedence
    and     := not ( ["AND"] not )*       adjacent terms are ANDed
    not     := "NOT" not | near
    near    := primary ( "NEAR/n" primary )*      NEAR alone means NEAR/10
    primary := "(" query ")" | FIELD ":" primary | ["="] "phrase" | ["="] word[*] | @list

Operators are upper case; everything else is folded (case and accents) and cut into words the
way article text is, and each word is matched by its stem (`election` matches "elections"). A
leading `=` asks for the words exactly as written (`=met`, `="hack writer"`); a trailing `*`
makes the last word a prefix of the words as written (`meet*`). Words joined by hyphens match
either way they are written: `cyber-attack` is "cyber attack" (any punctuation between) or
"cyberattack". A malformed query raises `QueryError` with the 1-based column and what was
expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .analysis import stem
from .folding import WORD, words

FIELDS = ("title", "summary", "content")
DEFAULT_NEAR = 10
MAX_SPELLINGS = 8  # alternatives one term may expand to (hyphenated words joined or split)


class QueryError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a prefix (`meet*`) or a phrase, optionally exact (`=met`) or limited to some
    fields. `words` are folded, as written; matching uses `analyzed`."""

    words: tuple[str, ...]
    prefix: bool
    fields: tuple[str, ...] = FIELDS
    exact: bool = False

    def __str__(self) -> str:
        text = " ".join(self.words) + ("*" if self.prefix else "")
        text = f'"{text}"' if len(self.words) > 1 else text
        text = "=" + text if self.exact else text
        return text if self.fields == FIELDS else f"{'|'.join(self.fields)}:{text}"

    @property
    def analyzed(self) -> tuple[str, ...]:
        """What each word is matched by: its stem, or itself when exact or the prefix."""
        if self.exact:
            return self.words
        last = len(self.words) - 1
        return tuple(
            word if self.prefix and i == last else stem(word) for i, word in enumerate(self.words)
        )

    @property
    def shown(self) -> str:
        """The analyzed form for people: `"rate cut"` is `rate cut`, `elections` is `elect`."""
        return " ".join(self.analyzed) + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " AND ".join(map(str, self.children)) + ")"


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    label: str = field(default="", compare=False)  # the term list it came from, as `@name`

    def __str__(self) -> str:
        return self.label or "(" + " OR ".join(map(str, self.children)) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"NOT {self.child}"


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int

    def __str__(self) -> str:
        return f"({self.left} NEAR/{self.distance} {self.right})"


Node = Term | And | Or | Not | Near

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<phrase>=?"[^"]*"?)
  | (?P<near>NEAR(?:/(?P<distance>\d+))?(?=[\s("@]|$))
  | (?P<op>(?:AND|OR|NOT)(?=[\s("@]|$))
  | (?P<field>[A-Za-z]+):(?=\S)
  | (?P<listref>@[A-Za-z0-9_-]*)
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int
    distance: int | None = None


def _tokenize(query: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or ""
        if kind == "distance":
            kind = "near"
        if kind == "space":
            continue
        text = match.group(kind)
        column = match.start() + 1
        quoted = text.removeprefix("=")
        if kind == "phrase" and (len(quoted) < 2 or not quoted.endswith('"')):
            raise QueryError('unterminated phrase: a closing " is missing', column)
        if kind == "word" and text.startswith("NEAR/"):
            # Else `NEAR/x` or `NEAR/5words` would quietly be the phrase "near x".
            raise QueryError(f"{text!r}: NEAR takes a number of words, as in NEAR/5", column)
        if kind == "word" and text.endswith(":") and text[:-1].lower() in FIELDS:
            # Else `title: x` (a space after the colon) would quietly be the word "title".
            raise QueryError(
                f"{text!r}: a field takes its term right after the colon, as in {text}word",
                column,
            )
        if kind == "op":
            kind = text
        distance = (
            int(match.group("distance")) if kind == "near" and match.group("distance") else None
        )
        tokens.append(_Token(kind, text, column, distance))
    tokens.append(_Token("end", "", len(query) + 1))
    return tokens


class _Parser:
    def __init__(self, query: str, term_lists: Mapping[str, Sequence[str]]) -> None:
        self.tokens = _tokenize(query)
        self.position = 0
        self.term_lists = term_lists

    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.token
        self.position += 1
        return token

    def fail(self, expected: str) -> QueryError:
        token = self.token
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return QueryError(f"expected {expected}, found {found}", token.column)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.fail("a term")
        node = self.parse_or(FIELDS)
        if self.token.kind != "end":
            raise self.fail("AND, OR, NOT, NEAR or the end of the query")
        return node

    def parse_or(self, fields: tuple[str, ...]) -> Node:
        children = [self.parse_and(fields)]
        while self.token.kind == "OR":
            self.advance()
            children.append(self.parse_and(fields))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, fields: tuple[str, ...]) -> Node:
        children = [self.parse_not(fields)]
        while self.token.kind in ("AND", "NOT", "lparen", "phrase", "word", "field", "listref"):
            if self.token.kind == "AND":
                self.advance()
            children.append(self.parse_not(fields))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self, fields: tuple[str, ...]) -> Node:
        if self.token.kind == "NOT":
            self.advance()
            return Not(self.parse_not(fields))
        return self.parse_near(fields)

    def parse_near(self, fields: tuple[str, ...]) -> Node:
        node = self.parse_primary(fields)
        while self.token.kind == "near":
            near = self.advance()
            right = self.parse_primary(fields)
            distance = DEFAULT_NEAR if near.distance is None else near.distance
            for side in (node, right):
                if _contains_not(side):
                    raise QueryError("NEAR cannot take a NOT operand", near.column)
            node = Near(node, right, distance)
        return node

    def parse_primary(self, fields: tuple[str, ...]) -> Node:
        token = self.token
        if token.kind == "lparen":
            self.advance()
            node = self.parse_or(fields)
            if self.token.kind != "rparen":
                raise self.fail("')'")
            self.advance()
            return node
        if token.kind == "field":
            name = token.text.lower()
            if name not in FIELDS:
                raise QueryError(
                    f"unknown field {name!r} (expected one of: {', '.join(FIELDS)})", token.column
                )
            self.advance()
            return self.parse_primary((name,))
        if token.kind in ("phrase", "word"):
            self.advance()
            return _term(token.text, fields, token.column)
        if token.kind == "listref":
            self.advance()
            return self.expand_list(token, fields)
        raise self.fail("a term, a \"phrase\", '(' or a field such as title:")

    def expand_list(self, token: _Token, fields: tuple[str, ...]) -> Node:
        name = token.text[1:]
        if name not in self.term_lists:
            known = ", ".join(f"@{n}" for n in sorted(self.term_lists)) or "none defined"
            raise QueryError(f"unknown term list @{name} (known: {known})", token.column)
        entries = self.term_lists[name]
        if not entries:
            raise QueryError(f"term list @{name} is empty", token.column)
        nodes = [_term(entry, fields, token.column) for entry in entries]
        terms = tuple(t for n in nodes for t in (n.children if isinstance(n, Or) else (n,)))
        label = f"@{name}" if fields == FIELDS else f"{'|'.join(fields)}:@{name}"
        return terms[0] if len(terms) == 1 else Or(terms, label)


_HYPHENATED = re.compile(r"^[^\W_]+(?:-[^\W_]+)+$")


def _term(text: str, fields: tuple[str, ...], column: int) -> Term | Or:
    """A word or phrase as written in a query or a term list: `=` for exact, quotes, a final
    `*`. Hyphenated words give two spellings, joined and split, as alternatives."""
    exact = text.startswith("=")
    body = text[1:] if exact else text
    if len(body) >= 2 and body.startswith('"') and body.endswith('"'):
        body = body[1:-1]
    prefix = body.endswith("*")
    body = body[:-1] if prefix else body
    if "*" in body:
        raise QueryError("a wildcard is only allowed at the end of a term, as in meet*", column)
    if not WORD.search(body):
        raise QueryError(f"{text!r} has no letters or digits to match", column)
    spellings = [""]
    for chunk in body.split():
        forms = [chunk, chunk.replace("-", "")] if _HYPHENATED.match(chunk) else [chunk]
        spellings = [f"{s} {f}" for s in spellings for f in forms][:MAX_SPELLINGS]
    terms = tuple(dict.fromkeys(Term(tuple(words(s)), prefix, fields, exact) for s in spellings))
    return terms[0] if len(terms) == 1 else Or(terms)


def _contains_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return any(_contains_not(c) for c in node.children)
    if isinstance(node, Near):
        return _contains_not(node.left) or _contains_not(node.right)
    return False


def anchored(node: Node) -> bool:
    """True when the node can only match if at least one of its positive terms occurs: what
    lets the matcher skip a topic whose terms are absent."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(anchored(c) for c in node.children)
    return all(anchored(c) for c in node.children)


def parse_query(query: str, term_lists: Mapping[str, Sequence[str]] | None = None) -> Node:
    """Parse `query`; raises `QueryError` naming the column and what was expected."""
    node = _Parser(query, term_lists or {}).parse()
    if not anchored(node):
        raise QueryError("the query can match without any of its terms (a bare NOT?)", 1)
    return node


def terms(node: Node) -> list[Term]:
    """Every term in the tree, positive or negated."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.child)
    if isinstance(node, Near):
        return terms(node.left) + terms(node.right)
    return [t for child in node.children for t in terms(child)]
