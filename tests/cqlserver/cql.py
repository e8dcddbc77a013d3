"""The small CQL subset the test server understands.

    SELECT * | col [, col ...] FROM [ks.]table
        [WHERE rel [AND rel ...]] [LIMIT n] [ALLOW FILTERING] [;]
    rel := col = term | col IN ? | col IN (term [, term ...])
         | token(col [, col ...]) (> | >= | < | <=) term     (partition token ranges)
    term := ? | literal
    USE ks
"""
from __future__ import annotations

import decimal
import re
import uuid
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<blob>0[xX][0-9a-fA-F]*)
  | (?P<number>-?\d+(\.\d+)?([eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")+")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<symbol>[*,()=?.;<>:])
""", re.VERBOSE)


class CqlSyntaxError(Exception):
    pass


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: object = None


def tokenize(text: str) -> list:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise CqlSyntaxError(f"line 1:{pos} no viable alternative at character '{text[pos]}'")
        pos = match.end()
        kind = match.lastgroup
        raw = match.group(kind)
        if kind == "ws":
            continue
        if kind == "qident":
            tokens.append(Token("ident", raw, raw[1:-1].replace('""', '"')))
        elif kind == "ident":
            tokens.append(Token("ident", raw, raw.lower()))
        elif kind == "string":
            tokens.append(Token("string", raw, raw[1:-1].replace("''", "'")))
        elif kind == "number":
            tokens.append(Token("number", raw, raw))
        elif kind == "uuid":
            tokens.append(Token("uuid", raw, uuid.UUID(raw)))
        elif kind == "blob":
            tokens.append(Token("blob", raw, bytes.fromhex(raw[2:])))
        else:
            tokens.append(Token("symbol", raw, raw))
    return tokens


@dataclass(frozen=True)
class Marker:
    index: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, uuid, blob, bool, null
    value: object


@dataclass
class Relation:
    column: str
    op: str  # '=' or 'IN'
    terms: list = field(default_factory=list)  # for '=' one term; for IN the terms
    marker: Marker | None = None  # IN ? (one marker binding a list)
    token_columns: list | None = None  # token(a, b) > term: the columns; op is the comparison


@dataclass
class Select:
    keyspace: str | None
    table: str
    columns: list | None  # None means *
    relations: list
    limit: int | None
    marker_count: int
    text: str = ""
    allow_filtering: bool = False


@dataclass
class Use:
    keyspace: str


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.markers = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise CqlSyntaxError("line 1:%d mismatched input '<EOF>'" % len(self.text))
        self.pos += 1
        return token

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "ident" and token.text.lower() == word

    def expect_word(self, word: str):
        token = self.next()
        if token.kind != "ident" or token.text.lower() != word:
            raise CqlSyntaxError(f"line 1:0 mismatched input '{token.text}' expecting {word.upper()}")

    def expect_symbol(self, symbol: str):
        token = self.next()
        if token.kind != "symbol" or token.text != symbol:
            raise CqlSyntaxError(f"line 1:0 mismatched input '{token.text}' expecting '{symbol}'")

    def is_symbol(self, symbol: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "symbol" and token.text == symbol

    def ident(self) -> str:
        token = self.next()
        if token.kind != "ident":
            raise CqlSyntaxError(f"line 1:0 no viable alternative at input '{token.text}'")
        return token.value

    def statement(self):
        if self.is_word("use"):
            self.next()
            keyspace = self.ident()
            self._end()
            return Use(keyspace)
        if self.is_word("select"):
            return self.select()
        token = self.peek()
        raise CqlSyntaxError(f"line 1:0 no viable alternative at input '{token.text if token else ''}'"
                             " (this test server only answers SELECT and USE)")

    def _end(self):
        if self.is_symbol(";"):
            self.next()
        if self.peek() is not None:
            raise CqlSyntaxError(f"line 1:0 extraneous input '{self.peek().text}'")

    def select(self) -> Select:
        self.expect_word("select")
        columns = None
        if self.is_symbol("*"):
            self.next()
        else:
            columns = [self.ident()]
            while self.is_symbol(","):
                self.next()
                columns.append(self.ident())
        self.expect_word("from")
        first = self.ident()
        keyspace, table = None, first
        if self.is_symbol("."):
            self.next()
            keyspace, table = first, self.ident()
        relations = []
        if self.is_word("where"):
            self.next()
            relations.append(self.relation())
            while self.is_word("and"):
                self.next()
                relations.append(self.relation())
        limit = None
        if self.is_word("limit"):
            self.next()
            token = self.next()
            if token.kind != "number":
                raise CqlSyntaxError(f"line 1:0 mismatched input '{token.text}' expecting INTEGER")
            limit = int(token.text)
        allow_filtering = False
        if self.is_word("allow"):
            self.next()
            self.expect_word("filtering")
            allow_filtering = True
        self._end()
        return Select(keyspace, table, columns, relations, limit, self.markers, self.text, allow_filtering)

    def relation(self) -> Relation:
        if self.is_word("token"):
            return self.token_relation()
        column = self.ident()
        if self.is_symbol("="):
            self.next()
            return Relation(column, "=", [self.term()])
        self.expect_word("in")
        if self.is_symbol("?"):
            self.next()
            marker = Marker(self.markers)
            self.markers += 1
            return Relation(column, "IN", marker=marker)
        self.expect_symbol("(")
        terms = []
        if not self.is_symbol(")"):
            terms.append(self.term())
            while self.is_symbol(","):
                self.next()
                terms.append(self.term())
        self.expect_symbol(")")
        return Relation(column, "IN", terms)

    def token_relation(self) -> Relation:
        self.next()
        self.expect_symbol("(")
        columns = [self.ident()]
        while self.is_symbol(","):
            self.next()
            columns.append(self.ident())
        self.expect_symbol(")")
        op = self.next()
        if op.kind != "symbol" or op.text not in "<>":
            raise CqlSyntaxError(f"line 1:0 mismatched input '{op.text}' expecting a token comparison")
        text = op.text
        if self.is_symbol("="):
            self.next()
            text += "="
        return Relation("token", text, [self.term()], token_columns=columns)

    def term(self):
        token = self.next()
        if token.kind == "symbol" and token.text == "?":
            marker = Marker(self.markers)
            self.markers += 1
            return marker
        if token.kind == "ident" and token.value in ("true", "false"):
            return Literal("bool", token.value == "true")
        if token.kind == "ident" and token.value == "null":
            return Literal("null", None)
        if token.kind in ("string", "number", "uuid", "blob"):
            return Literal(token.kind, token.value)
        raise CqlSyntaxError(f"line 1:0 no viable alternative at input '{token.text}'")


def parse(text: str):
    return _Parser(text).statement()


def literal_value(literal: Literal, type_name: str):
    """Convert a literal to the Python value of a simple CQL type (raises ValueError)."""
    kind, value = literal.kind, literal.value
    if kind == "null":
        return None
    if type_name in ("int", "bigint", "smallint", "tinyint", "varint", "counter"):
        if kind != "number":
            raise ValueError(f"Invalid {kind.upper()} constant ({value}) for type {type_name}")
        return int(value)
    if type_name in ("float", "double"):
        if kind != "number":
            raise ValueError(f"Invalid {kind.upper()} constant ({value}) for type {type_name}")
        return float(value)
    if type_name == "decimal":
        return decimal.Decimal(str(value))
    if type_name == "boolean":
        if kind != "bool":
            raise ValueError(f"Invalid constant ({value}) for type boolean")
        return value
    if type_name in ("uuid", "timeuuid"):
        return value if kind == "uuid" else uuid.UUID(str(value))
    if type_name == "blob":
        if kind != "blob":
            raise ValueError(f"Invalid constant ({value}) for type blob")
        return value
    if type_name == "timestamp" and kind == "number":
        return int(value)
    return value  # text, ascii, timestamp/date/time/inet strings: the encoder parses them
