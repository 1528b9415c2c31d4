"""Strings that match a field's `pattern`, drawn at random: a small parser for the regular expressions forms use.

Forms write patterns such as `^\\d{17}[\\dX]$` or `^(1\\d{10}|0\\d{2,3}-?\\d{7,8})$`. Known here: literals, escaped
punctuation, \\d \\w \\s \\D \\W \\S, `.`, character classes (ranges, negation), groups ((...), (?:...), (?P<name>...))
with `|`, the quantifiers ? * + {n} {n,} {,m} {n,m} (also lazy or possessive) and the anchors ^ $ \\A \\Z \\b \\B.
Anything else (look-arounds, back-references, inline flags, \\x escapes...) makes `parse` raise Unsupported, and the
caller draws something else. An open-ended repeat draws at most three more than its minimum.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

ANCHORS = frozenset("AZbB")
CATEGORIES = {
    "d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " ",
    "D": string.ascii_letters, "W": "-. ", "S": string.ascii_letters,
}
CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
NEGATED_FROM = string.ascii_letters + string.digits  # what a negated class draws from
RANGE_LIMIT = 200  # characters taken from one range of a class
EXTRA_REPEATS = 3
_BOUNDS = re.compile(r"\{(\d*)(,?)(\d*)\}")


class Unsupported(ValueError):
    """A pattern outside what this generator knows."""


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class OneOf:
    pool: tuple[str, ...]  # one character is drawn


@dataclass(frozen=True)
class Group:
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    low: int
    high: int | None  # None: open-ended
    body: Node


@dataclass(frozen=True)
class Branch:
    options: tuple[tuple[Node, ...], ...]  # one is drawn


Node = Literal | OneOf | Group | Repeat | Branch


def parse(pattern: str) -> tuple[Node, ...]:
    """The pattern as nodes to draw from.

    Raises:
        Unsupported: the pattern uses something this generator does not know.
    """
    parser = _Parser(pattern)
    nodes = parser.alternatives()
    if parser.at < len(pattern):
        raise Unsupported(f"unbalanced ')' at {parser.at} in {pattern!r}")
    return nodes


def draw(nodes: tuple[Node, ...], rng: random.Random) -> str:
    out: list[str] = []
    _emit(nodes, rng, out)
    return "".join(out)


def _emit(nodes: tuple[Node, ...], rng: random.Random, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, Literal):
            out.append(node.text)
        elif isinstance(node, OneOf):
            out.append(rng.choice(node.pool))
        elif isinstance(node, Group):
            _emit(node.body, rng, out)
        elif isinstance(node, Repeat):
            high = node.low + EXTRA_REPEATS if node.high is None else min(node.high, node.low + EXTRA_REPEATS)
            for _ in range(rng.randint(node.low, high)):
                _emit((node.body,), rng, out)
        else:
            _emit(rng.choice(node.options), rng, out)


class _Parser:
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.at = 0

    def peek(self) -> str:
        return self.pattern[self.at] if self.at < len(self.pattern) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise Unsupported(f"unexpected end of {self.pattern!r}")
        self.at += 1
        return char

    def alternatives(self) -> tuple[Node, ...]:
        options = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else (Branch(tuple(options)),)

    def sequence(self) -> tuple[Node, ...]:
        nodes: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            if atom is not None:
                nodes.append(self.quantified(atom))
        return tuple(nodes)

    def atom(self) -> Node | None:
        """The next single item; None for an anchor, which matches no character."""
        char = self.take()
        if char in "^$":
            return None
        if char in "*+?":
            raise Unsupported(f"nothing to repeat at {self.at - 1} in {self.pattern!r}")
        if char == ".":
            return OneOf(tuple(string.ascii_letters))
        if char == "[":
            return self.char_class()
        if char == "(":
            return self.group()
        if char != "\\":
            return Literal(char)
        escaped = self.take()
        if escaped in ANCHORS:
            return None
        if escaped in CATEGORIES:
            return OneOf(tuple(CATEGORIES[escaped]))
        return Literal(self.escaped_char(escaped))

    def escaped_char(self, escaped: str) -> str:
        if escaped in CONTROL:
            return CONTROL[escaped]
        if escaped.isalnum():
            raise Unsupported(f"escape \\{escaped} in {self.pattern!r}")
        return escaped

    def group(self) -> Node:
        if self.peek() == "?":
            self.at += 1
            kind = self.take()
            if kind == "P" and self.take() == "<":
                while self.take() != ">":
                    pass
            elif kind != ":":
                raise Unsupported(f"group (?{kind} in {self.pattern!r}")
        body = self.alternatives()
        if self.take() != ")":
            raise Unsupported(f"unclosed group in {self.pattern!r}")
        return body[0] if len(body) == 1 else Group(body)

    def char_class(self) -> Node:
        negate = self.peek() == "^"
        if negate:
            self.at += 1
        items: list[tuple[str, ...]] = []
        while not items or self.peek() != "]":  # a ']' first is a character of the class
            char = self.take()
            if char == "\\":
                escaped = self.take()
                if escaped in CATEGORIES:
                    items.append(tuple(CATEGORIES[escaped]))
                    continue
                char = self.escaped_char(escaped)
            if self.peek() == "-" and self.pattern[self.at + 1:self.at + 2] not in ("]", ""):
                self.at += 1
                end = self.take()
                if end == "\\":
                    end = self.escaped_char(self.take())
                items.append(tuple(chr(c) for c in range(ord(char), min(ord(end), ord(char) + RANGE_LIMIT) + 1)))
            else:
                items.append((char,))
        self.at += 1
        unique = list(dict.fromkeys(items))
        pool = [char for item in unique for char in item]
        if negate:
            pool = [c for c in NEGATED_FROM if c not in pool]
        elif len(unique) == 1 and len(pool) == 1:
            return Literal(pool[0])
        if not pool:
            raise Unsupported(f"a class with nothing to draw in {self.pattern!r}")
        return OneOf(tuple(pool))

    def quantified(self, atom: Node) -> Node:
        char = self.peek()
        bounds = _BOUNDS.match(self.pattern, self.at) if char == "{" else None
        if char in ("?", "*", "+"):
            self.at += 1
            low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[char]
        elif bounds is not None and bounds.group(0) != "{}":
            self.at = bounds.end()
            lowest, comma, highest = bounds.groups()
            low = int(lowest or 0)
            high = (int(highest) if highest else None) if comma else low
        else:
            return atom
        if self.peek() in ("?", "+"):  # lazy or possessive: the same strings match
            self.at += 1
        return Repeat(low, high, atom)
