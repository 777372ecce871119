"""Match every topic against an article in one pass, score it, and explain why.

All topics' terms go into one Aho-Corasick automaton over the article's folded words, so an
article is scanned once however many topics there are. A topic's boolean query is evaluated
only when one of its positive terms occurred (the prefilter of stored-query engines such as
Lucene's Monitor); most topics are never looked at for most articles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice, pairwise

import ahocorasick

from .folding import WORD, fold, word_text
from .query import FIELDS, And, Near, Node, Not, Or, Term, terms
from .query import anchored as anchored_node
from .topic import Topic

# What a match in each field is worth: a reader trusts the headline more than the body.
FIELD_WEIGHTS = (1.0, 0.7, 0.4)
_SEPARATOR = "\x00"  # between fields: never part of a word, so no phrase can span two fields
CLOSE, FAR = 8, 60  # words apart: "close together" gets full credit, fading to none at FAR
SNIPPET_CHARS = 240


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    summary: str = ""
    content: str = ""

    def field(self, index: int) -> str:
        return (self.title, self.summary, self.content)[index]


# A run of words in one field: (field index, first word, last word + 1). Plain tuples: millions
# are made, and they sort by field then position, which the scorer relies on.
Position = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class TermHit:
    term: str
    field: str
    offsets: tuple[tuple[int, int], ...]  # character offsets in that field's original text


@dataclass(frozen=True, slots=True)
class ClauseExplanation:
    clause: str
    matched: bool
    hits: tuple[TermHit, ...]


@dataclass(frozen=True, slots=True)
class Snippet:
    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]  # character offsets in `text`


@dataclass(frozen=True, slots=True)
class Explanation:
    clauses: tuple[ClauseExplanation, ...]
    snippet: Snippet | None
    excluded_by: tuple[TermHit, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "clauses": [
                {
                    "clause": c.clause,
                    "matched": c.matched,
                    "hits": [_hit_dict(h) for h in c.hits],
                }
                for c in self.clauses
            ],
            "snippet": None
            if self.snippet is None
            else {
                "field": self.snippet.field,
                "text": self.snippet.text,
                "highlights": [list(h) for h in self.snippet.highlights],
            },
            "excluded_by": [_hit_dict(h) for h in self.excluded_by],
        }

    @property
    def matched_terms(self) -> list[str]:
        seen = dict.fromkeys(h.term for c in self.clauses for h in c.hits)
        return list(seen)


def _hit_dict(hit: TermHit) -> dict[str, object]:
    return {"term": hit.term, "field": hit.field, "offsets": [list(o) for o in hit.offsets]}


@dataclass(frozen=True, slots=True)
class Match:
    """A topic's verdict on a document. `matched` is the boolean query (with the exclusion
    applied); `passed` also needs the score to reach the topic's threshold."""

    topic: Topic
    matched: bool
    score: float
    explanation: Explanation | None  # built for passing matches and for `explain` only

    @property
    def passed(self) -> bool:
        return self.matched and self.score >= self.topic.threshold


@dataclass(slots=True)
class _Scan:
    """One document after the automaton's pass: where each atom (a distinct term pattern)
    ended in the haystack. Word positions are worked out only for the atoms that a candidate
    topic's evaluation asks about; most hits never need them."""

    document: Document
    haystack: str
    field_starts: tuple[int, int, int]  # word number where title, summary, content begin
    ends: dict[int, list[int]]  # atom -> haystack offsets where it ended, ascending
    matcher: Matcher
    _positions: dict[int, list[Position]] = field(default_factory=dict)
    _spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def positions(self, atom: int) -> list[Position] | None:
        found = self._positions.get(atom)
        if found is not None or atom not in self.ends:
            return found
        chars, words = self.matcher._chars_in[atom], self.matcher._words_in[atom]
        _, summary_at, content_at = self.field_starts
        found = []
        counted_to = counted = 0
        for end in self.ends[atom]:
            start = end + 1 - chars
            # A hit's word number is the count of spaces before it, counted on from the
            # previous hit: one pass over the text, in C.
            counted += self.haystack.count(" ", counted_to, start)
            counted_to = start
            if counted >= content_at:
                found.append((2, counted - content_at, counted - content_at + words))
            elif counted >= summary_at:
                found.append((1, counted - summary_at, counted - summary_at + words))
            else:
                found.append((0, counted, counted + words))
        self._positions[atom] = found
        return found

    def char_span(self, position: Position) -> tuple[int, int]:
        """Character offsets of a run of words. Folding keeps every character in place, so
        word k of the folded text is word k of the original; spans are read only as far as
        needed (the body can be long)."""
        field_index, start, end = position
        spans = self._spans.setdefault(field_index, [])
        if len(spans) < end:
            text = fold(self.document.field(field_index))
            finder = WORD.finditer(text, spans[-1][1] if spans else 0)
            spans.extend(m.span() for m in islice(finder, end - len(spans)))
        return spans[start][0], spans[end - 1][1]


class Matcher:
    """All enabled topics compiled together. Build once, then call `match` per article."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = [t for t in topics if t.enabled]
        self._atoms: dict[str, int] = {}  # pattern -> atom id
        self._words_in: list[int] = []  # atom id -> words in its pattern
        self._chars_in: list[int] = []  # atom id -> characters in its pattern
        self._topics_by_atom: list[set[int]] = []
        # id(term) -> (atom, bit mask of the fields it may match in): evaluation is hot
        self._terms: dict[int, tuple[int, int]] = {}
        for index, topic in enumerate(self.topics):
            for term in _trigger_terms(topic.query):
                self._topics_by_atom[self._atom(term)].add(index)
            for term in terms(topic.query) + (terms(topic.exclude) if topic.exclude else []):
                mask = sum(1 << FIELDS.index(f) for f in term.fields)
                self._terms[id(term)] = (self._atom(term), mask)
        # Fast yes/no tests per topic; positions, scores and explanations only for a yes.
        self._tests = [
            (self._boolean(t.query), self._boolean(t.exclude) if t.exclude else None)
            for t in self.topics
        ]
        self._automaton = ahocorasick.Automaton()
        for pattern, atom in self._atoms.items():
            self._automaton.add_word(pattern, atom)
        if self._atoms:
            self._automaton.make_automaton()

    def _atom(self, term: Term) -> int:
        pattern = _pattern(term)
        atom = self._atoms.get(pattern)
        if atom is None:
            atom = self._atoms[pattern] = len(self._atoms)
            self._words_in.append(len(term.words))
            self._chars_in.append(len(pattern))
            self._topics_by_atom.append(set())
        return atom

    def match(self, document: Document) -> list[Match]:
        """The topics whose query holds for `document`, scored; passing ones are explained."""
        scan = self._scan(document)
        candidates = sorted({t for atom in scan.ends for t in self._topics_by_atom[atom]})
        results = []
        for index in candidates:
            query_holds, exclusion_holds = self._tests[index]
            if not query_holds(scan) or (exclusion_holds is not None and exclusion_holds(scan)):
                continue
            result = self._evaluate(self.topics[index], scan, explain_all=False)
            if result is not None:
                results.append(result)
        return results

    def _boolean(self, node: Node) -> Callable[[_Scan], bool]:
        """Compile `node` into a yes/no test on a scan. AND, OR and NOT need only whether an
        atom occurred (a set lookup); positions are worked out only for field scopes and NEAR.
        """
        if isinstance(node, Term):
            atom, mask = self._terms[id(node)]
            if mask == _ALL_FIELDS:
                return lambda scan: atom in scan.ends
            return lambda scan: any(mask >> p[0] & 1 for p in scan.positions(atom) or ())
        if isinstance(node, Or):
            plain = frozenset(
                self._terms[id(c)][0]
                for c in node.children
                if isinstance(c, Term) and self._terms[id(c)][1] == _ALL_FIELDS
            )
            others = [
                self._boolean(c)
                for c in node.children
                if not (isinstance(c, Term) and self._terms[id(c)][1] == _ALL_FIELDS)
            ]
            return lambda scan: not plain.isdisjoint(scan.ends) or any(t(scan) for t in others)
        if isinstance(node, And):
            tests = [self._boolean(c) for c in node.children]
            return lambda scan: all(t(scan) for t in tests)
        if isinstance(node, Not):
            test = self._boolean(node.child)
            return lambda scan: not test(scan)
        terms_info = self._terms
        return lambda scan: _Evaluator(terms_info, scan).eval(node) is not None

    def explain(self, topic_id: str, document: Document) -> Match:
        """One topic's full verdict and explanation, also when it does not match."""
        topic = next((t for t in self.topics if t.id == topic_id), None)
        if topic is None:
            raise KeyError(topic_id)
        result = self._evaluate(topic, self._scan(document), explain_all=True)
        assert result is not None
        return result

    def _scan(self, document: Document) -> _Scan:
        """Run the automaton once over the document's three fields.

        The haystack is the folded words one space apart, fields divided by a separator word
        that no pattern contains, so a phrase never spans two fields.
        """
        parts: list[str] = []
        field_starts = []
        words = 0
        for index, text in enumerate((document.title, document.summary, document.content)):
            if index:
                parts.append(_SEPARATOR)
                words += 1
            field_starts.append(words)
            cleaned = word_text(text)
            if cleaned:
                parts.append(cleaned)
                words += cleaned.count(" ") + 1
        haystack = " " + " ".join(parts) + " "
        ends: dict[int, list[int]] = {}
        if self._atoms:
            for end, atom in self._automaton.iter(haystack):
                found = ends.get(atom)
                if found is None:
                    ends[atom] = [end]
                else:
                    found.append(end)
        starts = (field_starts[0], field_starts[1], field_starts[2])
        return _Scan(document, haystack, starts, ends, self)

    def _evaluate(self, topic: Topic, scan: _Scan, *, explain_all: bool) -> Match | None:
        """The topic's verdict. In `match` a miss is None and only a passing match is
        explained: explanations cost more than the test, and most candidates miss."""
        evaluator = _Evaluator(self._terms, scan)
        positions = evaluator.eval(topic.query)
        excluded = topic.exclude is not None and evaluator.eval(topic.exclude) is not None
        if not explain_all and (positions is None or excluded):
            return None
        clauses = [c for c in _conjuncts(topic.query) if not isinstance(c, Not)]
        score = _score(clauses, evaluator) if positions is not None else 0.0
        matched = positions is not None and not excluded
        if not explain_all and score < topic.threshold:
            return Match(topic, matched, score, None)
        explanations = tuple(
            ClauseExplanation(str(c), evaluator.eval(c) is not None, evaluator.hits_in(c))
            for c in clauses
        )
        explanation = Explanation(
            clauses=explanations,
            snippet=_snippet(scan, explanations),
            excluded_by=evaluator.hits_in(topic.exclude) if excluded and topic.exclude else (),
        )
        return Match(topic, matched, score, explanation)


class _Evaluator:
    """Evaluates query nodes against one scan. A node gives the positions that made it true,
    or None when it is false (a true NOT gives an empty list)."""

    def __init__(self, terms: dict[int, tuple[int, int]], scan: _Scan) -> None:
        self.terms = terms
        self.scan = scan
        self.memo: dict[int, list[Position] | None] = {}

    def eval(self, node: Node) -> list[Position] | None:
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        result = self.memo[key] = self._eval(node)
        return result

    def _eval(self, node: Node) -> list[Position] | None:
        if isinstance(node, Term):
            atom, mask = self.terms[id(node)]
            found = self.scan.positions(atom)
            if found is None or mask == _ALL_FIELDS:
                return found
            return [p for p in found if mask >> p[0] & 1] or None
        if isinstance(node, Or):
            results = [r for r in map(self.eval, node.children) if r is not None]
            return [p for r in results for p in r] if results else None
        if isinstance(node, And):
            collected: list[Position] = []
            for child in node.children:
                positions = self.eval(child)
                if positions is None:
                    return None
                collected.extend(positions)
            return collected
        if isinstance(node, Not):
            return [] if self.eval(node.child) is None else None
        left, right = self.eval(node.left), self.eval(node.right)
        if not left or not right:
            return None
        close = [
            p
            for a in left
            for b in right
            if a[0] == b[0] and _gap(a, b) <= node.distance
            for p in (a, b)
        ]
        return close or None

    def hits_in(self, node: Node) -> tuple[TermHit, ...]:
        found = []
        for term in dict.fromkeys(_positive_terms(node)):
            positions = self.eval(term)
            if not positions:
                continue
            by_field: dict[int, list[tuple[int, int]]] = {}
            for position in positions:
                by_field.setdefault(position[0], []).append(self.scan.char_span(position))
            found.extend(
                TermHit(str(term), FIELDS[f], tuple(spans)) for f, spans in sorted(by_field.items())
            )
        return tuple(found)


_ALL_FIELDS = (1 << len(FIELDS)) - 1


def _pattern(term: Term) -> str:
    # Words sit between single spaces, so " meet" finds words starting with meet and
    # " met " finds only met.
    return " " + " ".join(term.words) + ("" if term.prefix else " ")


def _positive_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return _positive_terms(node.left) + _positive_terms(node.right)
    return [t for c in node.children for t in _positive_terms(c)]


def _trigger_terms(node: Node) -> list[Term]:
    """Terms of which at least one must occur for `node` to match: the prefilter.

    An AND needs only one of its clauses' terms, so it takes the clause that looks most
    selective: the fewest terms, then the longest shortest term (without corpus statistics,
    longer words are the better bet for rare). Parsing guarantees every query has one.
    """
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return min(_trigger_terms(node.left), _trigger_terms(node.right), key=_selectivity)
    if isinstance(node, Or):
        return [t for c in node.children for t in _trigger_terms(c)]
    assert isinstance(node, And)
    anchored = [_trigger_terms(c) for c in node.children if anchored_node(c)]
    return min(anchored, key=_selectivity)


def _selectivity(candidates: list[Term]) -> tuple[int, int]:
    return len(candidates), -min(len(_pattern(t)) for t in candidates)


def _conjuncts(node: Node) -> tuple[Node, ...]:
    return node.children if isinstance(node, And) else (node,)


def _gap(a: Position, b: Position) -> int:
    """Words strictly between two runs (0 when they touch or overlap)."""
    return max(0, b[1] - a[2], a[1] - b[2])


def _score(clauses: Sequence[Node], evaluator: _Evaluator) -> float:
    """0..1: where the clauses matched (title > summary > content), how many distinct terms
    matched, and how close together the clauses matched.

    The field weight multiplies the rest, so a match only in the body can never outscore one in
    the headline, and with the default threshold of 0.5 a body-only match does not alert.
    """
    matched = [(i, evaluator.eval(c)) for i, c in enumerate(clauses)]
    matched = [(i, p) for i, p in matched if p]
    if not matched:
        return 0.0
    base = sum(max(FIELD_WEIGHTS[p[0]] for p in ps) for _, ps in matched) / len(matched)
    mentions = len({p for _, ps in matched for p in ps})
    atoms = len({t for c in clauses for t in _positive_terms(c) if evaluator.eval(t)})
    breadth = min(1.0, atoms / (len(clauses) + 1))
    if len(clauses) > 1:
        closeness = _closeness([(p, i) for i, ps in matched for p in ps])
    else:
        closeness = min(1.0, (mentions - 1) / 2)  # one clause: repeated mentions count a little
    return round(base * (0.6 + 0.2 * breadth + 0.2 * closeness), 3)


def _closeness(labelled: list[tuple[Position, int]]) -> float:
    """1.0 when two different clauses matched within CLOSE words in one field, fading to 0 at
    FAR. In sorted order the closest pair with different clauses is always adjacent."""
    labelled.sort()
    best = None
    for (a, clause_a), (b, clause_b) in pairwise(labelled):
        if a[0] == b[0] and clause_a != clause_b:
            gap = _gap(a, b)
            best = gap if best is None else min(best, gap)
    if best is None:
        return 0.0
    return max(0.0, min(1.0, 1 - (best - CLOSE) / (FAR - CLOSE)))


def _snippet(scan: _Scan, clauses: Sequence[ClauseExplanation]) -> Snippet | None:
    """A short passage around the matches, from the field where most clauses matched
    (summary, then content, then title on a tie: the headline is shown anyway)."""
    hits = [h for c in clauses for h in c.hits]
    if not hits:
        return None

    def rank(name: str) -> tuple[int, int]:
        clauses_here = sum(1 for c in clauses if any(h.field == name for h in c.hits))
        return clauses_here, ("title", "content", "summary").index(name)

    name = max({h.field for h in hits}, key=rank)
    text = scan.document.field(FIELDS.index(name))
    spans = sorted(span for h in hits if h.field == name for span in h.offsets)
    start = max(0, spans[0][0] - 60)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > spans[0][1] else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    highlights = tuple((s + shift, e + shift) for s, e in spans if s >= start and e <= end)
    return Snippet(name, prefix + text[start:end] + suffix, highlights)
