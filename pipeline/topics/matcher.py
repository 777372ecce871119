"""Match every topic against an article in one pass, score it, and explain why.

All topics' terms become patterns of one Aho-Corasick automaton over the article's words coded
by stem (`scan`), so an article is scanned once however many topics there are. A topic's
boolean query is evaluated only when one of its positive terms occurred (the prefilter of
stored-query engines such as Lucene's Monitor); most topics are never looked at for most
articles.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter, methodcaller

import ahocorasick

from .evidence import Scorer, compile_scorer, mention_weight, together
from .explanation import ClauseExplanation, Explanation, TermHit, snippet
from .query import FIELDS, And, Near, Node, Not, Or, Term, terms
from .query import anchored as anchored_node
from .scan import (
    FLAG,
    FLAG_MARKS,
    STEMS,
    WORDS,
    Atom,
    Lexicon,
    Position,
    Scan,
    WordPattern,
    encode,
    word_hits,
)
from .topic import Topic


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    summary: str = ""
    content: str = ""

    @property
    def fields(self) -> tuple[str, str, str]:
        return (self.title, self.summary, self.content)


@dataclass(frozen=True, slots=True)
class Match:
    """A topic's verdict on a document. `matched` is the boolean query (with the exclusion
    applied); `passed` also needs the score to reach the topic's threshold."""

    topic: Topic
    matched: bool
    score: float
    explanation: Explanation | None  # built for passing matches and for `explain` only
    query_holds: bool = True  # the query alone, before the exclusion

    @property
    def passed(self) -> bool:
        return self.matched and self.score >= self.topic.threshold


class Matcher:
    """All enabled topics compiled together. Build once, then call `match` per article."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = [t for t in topics if t.enabled]
        # (STEMS, stems) or (WORDS, (words, prefix)) -> pattern
        self._patterns: dict[tuple[int, tuple[str, ...] | WordPattern], int] = {}
        self._topics_by_pattern: list[set[int]] = []
        self._patterns_of: list[frozenset[int]] = []  # topic -> patterns of its query's terms
        # id(term) -> (atom, bit mask of the fields it may match in): evaluation is hot
        self._terms: dict[int, tuple[Atom, int]] = {}
        for index, topic in enumerate(self.topics):
            for term in _trigger_terms(topic.query):
                self._topics_by_pattern[self._atom(term).pattern].add(index)
            for term in terms(topic.query) + (terms(topic.exclude) if topic.exclude else []):
                mask = sum(1 << FIELDS.index(f) for f in term.fields)
                self._terms[id(term)] = (self._atom(term), mask)
            self._patterns_of.append(
                frozenset(self._terms[id(t)][0].pattern for t in terms(topic.query))
            )
        self._scorers: dict[int, Scorer] = {}  # id(node) -> its compiled scorer
        self._getters: dict[tuple[object, ...], Callable[[Scan], list[Position] | None]] = {}
        # Fast yes/no tests per topic; positions, scores and explanations only for a yes.
        self._tests = [
            (self._boolean(t.query), self._boolean(t.exclude) if t.exclude else None)
            for t in self.topics
        ]
        stems = {s for kind, key in self._patterns if kind == STEMS for s in key}
        words = {p: key for (kind, key), p in self._patterns.items() if kind == WORDS}
        self._lexicon = Lexicon(stems, words)  # type: ignore[arg-type]
        self._automaton: ahocorasick.Automaton | None = None
        if stems or words:
            self._automaton = ahocorasick.Automaton()
            for (kind, key), pattern in self._patterns.items():
                if kind == STEMS:
                    for spelling in self._lexicon.spellings(key):  # type: ignore[arg-type]
                        self._automaton.add_word(spelling, pattern)
            if words:  # flagged words are found in the same pass
                for mark in FLAG_MARKS:
                    self._automaton.add_word(mark, FLAG)
            self._automaton.make_automaton()

    def _atom(self, term: Term) -> Atom:
        analyzed = term.analyzed
        check = None
        key: tuple[str, ...] | WordPattern
        if term.exact or (term.prefix and len(analyzed) == 1):
            kind, key = WORDS, (analyzed, term.prefix)
        elif term.prefix:  # stems up to the prefix, which is checked on the folded word
            kind, key, check = STEMS, analyzed[:-1], analyzed[-1]
        else:
            kind, key = STEMS, analyzed
        pattern = self._patterns.get((kind, key))
        if pattern is None:
            pattern = self._patterns[kind, key] = len(self._patterns)
            self._topics_by_pattern.append(set())
        return Atom(pattern, kind, len(term.words), check)

    def match(self, document: Document) -> list[Match]:
        """The topics whose query holds for `document`, scored; passing ones are explained."""
        scan = self._scan(document)
        candidates = sorted(set().union(*map(self._topics_by_pattern.__getitem__, scan.present)))
        results = []
        for index in candidates:
            query_holds, exclusion_holds = self._tests[index]
            if not query_holds(scan) or (exclusion_holds is not None and exclusion_holds(scan)):
                continue
            topic = self.topics[index]
            score = self._score(topic.query, scan)
            if score < topic.threshold:  # explanations cost more than scores: passes only
                results.append(Match(topic, True, score, None))
            else:
                results.append(self._explained(topic, scan, score))
        return results

    def _score(self, node: Node, scan: Scan) -> float:
        scorer = self._scorers.get(id(node))
        if scorer is None:
            scorer = self._scorers[id(node)] = compile_scorer(node, self._positions_getter)
        return round(scorer(scan, None)[0], 3)

    def _positions_getter(self, term: Term) -> Callable[[Scan], list[Position] | None]:
        """The function from a scan to the term's positions: one per distinct way of matching
        (terms matched alike share it, and scorers count them once)."""
        atom, mask = self._terms[id(term)]
        key = (atom.pattern, atom.check, atom.words, mask)
        getter = self._getters.get(key)
        if getter is None:
            if mask == _ALL_FIELDS:  # scan.positions(atom), called from C
                getter = methodcaller("positions", atom)
            else:
                getter = lambda scan: [  # noqa: E731
                    p for p in scan.positions(atom) or () if mask >> p[0] & 1
                ]
            self._getters[key] = getter
        return getter

    def _boolean(self, node: Node) -> Callable[[Scan], bool]:
        """Compile `node` into one yes/no function of a scan. AND, OR and NOT need only
        whether a pattern occurred, a set operation; positions are worked out only for field
        scopes, prefix checks and NEAR. The function is generated as one expression, so a test
        costs no call per node: thousands of candidate topics are tested per second."""
        constants: dict[str, object] = {}
        expression = self._expression(node, constants)
        source = f"def test(scan):\n    present = scan.present\n    return {expression}\n"
        # The source holds only pattern numbers and names of our constants, never query or
        # article text.
        exec(compile(source, "<topic test>", "exec"), constants)
        return constants["test"]  # type: ignore[return-value]

    def _expression(self, node: Node, constants: dict[str, object]) -> str:
        def constant(value: object) -> str:
            name = f"c{len(constants)}"
            constants[name] = value
            return name

        if isinstance(node, Term):
            atom, mask = self._terms[id(node)]
            if self._plain(node):
                return f"{atom.pattern} in present"
            test = constant(lambda scan: any(mask >> p[0] & 1 for p in scan.positions(atom) or ()))
            return f"{test}(scan)"
        if isinstance(node, Or):
            plain = frozenset(
                self._terms[id(c)][0].pattern for c in node.children if self._plain(c)
            )
            parts = [f"not {constant(plain)}.isdisjoint(present)"] if plain else []
            parts += [self._expression(c, constants) for c in node.children if not self._plain(c)]
            return "(" + " or ".join(parts) + ")"
        if isinstance(node, And):
            return "(" + " and ".join(self._expression(c, constants) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self._expression(node.child, constants)})"
        terms_info = self._terms
        near = constant(lambda scan: _Evaluator(terms_info, scan).near_holds(node))
        # both sides first: set lookups, before positions are worked out
        sides = " and ".join(self._expression(s, constants) for s in (node.left, node.right))
        return f"({sides} and {near}(scan))"

    def _plain(self, node: Node) -> bool:
        """A term that holds whenever its pattern occurred: any field, no prefix check."""
        if not isinstance(node, Term):
            return False
        atom, mask = self._terms[id(node)]
        return mask == _ALL_FIELDS and atom.check is None

    def explain(self, topic_id: str, document: Document) -> Match:
        """One topic's full verdict and explanation, also when it does not match."""
        return self._explained(self.topic(topic_id), self._scan(document))

    def topic(self, topic_id: str) -> Topic:
        topic = next((t for t in self.topics if t.id == topic_id), None)
        if topic is None:
            raise KeyError(topic_id)
        return topic

    def explain_mentioned(self, topic_id: str, document: Document) -> Match | None:
        """`explain`, but None at once when no term of the topic's query occurs: what near
        misses are looked for with."""
        topic = self.topic(topic_id)
        scan = self._scan(document)
        if self._patterns_of[self.topics.index(topic)].isdisjoint(scan.present):
            return None
        return self._explained(topic, scan)

    def _scan(self, document: Document) -> Scan:
        """Encode the document and run the automaton once over its codes."""
        coded, tokens, starts = encode(document, self._lexicon)
        # in C: the hits sorted by pattern (stably, so each pattern's stay in text order),
        # flagged words first
        hits = sorted(self._automaton.iter(coded), key=_PATTERN) if self._automaton else []
        keys = list(map(_PATTERN, hits))
        flagged = bisect_right(keys, FLAG)
        words = word_hits(hits[:flagged], tokens, self._lexicon) if flagged else {}
        if flagged:
            del hits[:flagged], keys[:flagged]
        present = frozenset(keys).union(words)
        return Scan(document, tokens, starts, hits, keys, words, present, self._lexicon.width)

    def _explained(self, topic: Topic, scan: Scan, score: float | None = None) -> Match:
        """The topic's full verdict: the query, the exclusion, the score, and why."""
        evaluator = _Evaluator(self._terms, scan)
        holds = evaluator.eval(topic.query) is not None
        excluded = topic.exclude is not None and evaluator.eval(topic.exclude) is not None
        if score is None:
            score = self._score(topic.query, scan) if holds else 0.0
        explained = tuple(
            ClauseExplanation(
                str(c),
                (clause_holds := evaluator.eval(c) is not None),
                evaluator.hits_in(c),
                # a NOT clause is satisfied or not; it adds no evidence either way
                float(clause_holds) if isinstance(c, Not) else self._score(c, scan),
            )
            for c in _conjuncts(topic.query)
        )
        clauses = [c for c in _conjuncts(topic.query) if not isinstance(c, Not)]
        closeness = together([evaluator.eval(c) or [] for c in clauses], scan.offsets)
        explanation = Explanation(
            clauses=explained,
            snippet=snippet(scan.document.fields, explained),
            excluded_by=evaluator.hits_in(topic.exclude) if excluded and topic.exclude else (),
            together=round(closeness, 3),
        )
        return Match(topic, holds and not excluded, score, explanation, holds)


class _Evaluator:
    """Evaluates query nodes against one scan. A node gives the positions that made it true,
    or None when it is false (a true NOT gives an empty list)."""

    def __init__(self, terms: dict[int, tuple[Atom, int]], scan: Scan) -> None:
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
                return found or None
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
        pairs = self.scan.close_pairs(left, right, node.distance)
        return list(dict.fromkeys(p for pair in pairs for p in pair)) or None

    def near_holds(self, node: Near) -> bool:
        """Whether `eval(node)` is not None, stopping at the first pair of runs close
        enough: a yes/no test needs no more."""
        left, right = self.eval(node.left), self.eval(node.right)
        if not left or not right:
            return False
        return next(self.scan.close_pairs(left, right, node.distance), None) is not None

    def hits_in(self, node: Node) -> tuple[TermHit, ...]:
        found = []
        fields = self.scan.document.fields
        for term in dict.fromkeys(_positive_terms(node)):
            positions = self.eval(term)
            if not positions:
                continue
            by_field: dict[int, list[Position]] = {}
            for position in positions:
                by_field.setdefault(position[0], []).append(position)
            for index, mentions in sorted(by_field.items()):
                # the first few mentions say where a term stands; a long body can hold dozens
                mentions = mentions[:MENTIONS_SHOWN]
                spans = tuple(self.scan.char_span(p) for p in mentions)
                found.append(
                    TermHit(
                        str(term),
                        FIELDS[index],
                        spans,
                        term.shown,
                        tuple(fields[index][a:b] for a, b in spans),
                        tuple(round(mention_weight(self.scan, p), 2) for p in mentions),
                    )
                )
        return tuple(found)


_ALL_FIELDS = (1 << len(FIELDS)) - 1
MENTIONS_SHOWN = 5  # per term and field, in explanations
_PATTERN = itemgetter(1)


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
    return len(candidates), -min(sum(map(len, t.words)) for t in candidates)


def _conjuncts(node: Node) -> tuple[Node, ...]:
    return node.children if isinstance(node, And) else (node,)
