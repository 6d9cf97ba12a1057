"""A small, safe expression language for KPI specifications and phase rules.

No ``eval``: the text is tokenised and parsed by recursive descent into a tree
of tuples, which :func:`evaluate` computes with NumPy on arrays of batch values.

Grammar::

    expr       := or_expr
    or_expr    := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (("and" | "&&") not_expr)*
    not_expr   := ("not" | "!") not_expr | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*   # chains: 0.9 <= y < 1
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | NAME | `quoted name` | "(" expr ")" | ("abs" | "min" | "max") "(" args ")"

Example: ``"yield >= 0.9 and impurity < 0.02"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench.errors import ConfigError

__all__ = ["parse_expression", "evaluate", "expression_names"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|`(?P<quoted>[^`]+)`"
    r"|(?P<op><=|>=|==|!=|&&|\|\||[<>+\-*/(),!]))"
)
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}
_FUNCS = {"abs", "min", "max"}
_KEYWORDS = {"and", "or", "not"}


def _tokenise(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ConfigError(
                f"expression {text!r}: unexpected character {text[col]!r} at column {col + 1}; "
                "use names, numbers, comparisons (< <= > >= == !=), and/or/not, + - * / and parentheses"
            )
        col = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        if m.group("num") is not None:
            tokens.append(("num", float(m.group("num")), col))
        elif m.group("name") is not None:
            word = m.group("name")
            tokens.append(("kw" if word in _KEYWORDS else "name", word, col))
        elif m.group("quoted") is not None:
            tokens.append(("name", m.group("quoted"), col))
        else:
            tokens.append(("op", m.group("op"), col))
        pos = m.end()
    tokens.append(("end", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenise(text)
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, Any, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, what: str) -> ConfigError:
        kind, value, col = self.peek()
        got = "end of expression" if kind == "end" else repr(value)
        return ConfigError(f"expression {self.text!r}: expected {what} at column {col + 1}, got {got}")

    def accept(self, kind: str, *values: Any) -> bool:
        k, v, _ = self.peek()
        if k == kind and (not values or v in values):
            self.i += 1
            return True
        return False

    def parse(self) -> tuple:
        if self.peek()[0] == "end":
            raise self.error("an expression")
        node = self.or_expr()
        if self.peek()[0] != "end":
            raise self.error("an operator (and, or, comparison) or the end")
        return node

    def or_expr(self) -> tuple:
        node = self.and_expr()
        while self.accept("kw", "or") or self.accept("op", "||"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> tuple:
        node = self.not_expr()
        while self.accept("kw", "and") or self.accept("op", "&&"):
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self) -> tuple:
        if self.accept("kw", "not") or self.accept("op", "!"):
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.sum()
        parts: list[tuple] = []
        while self.peek()[0] == "op" and self.peek()[1] in _COMPARE:
            op = self.take()[1]
            right = self.sum()
            parts.append(("cmp", op, left, right))
            left = right
        if not parts:
            return left
        node = parts[0]
        for p in parts[1:]:
            node = ("and", node, p)
        return node

    def sum(self) -> tuple:
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = ("bin", op, node, self.term())
        return node

    def term(self) -> tuple:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> tuple:
        kind, value, _ = self.peek()
        if kind == "num":
            self.take()
            return ("num", value)
        if kind == "name":
            self.take()
            if value in _FUNCS and self.accept("op", "("):
                args = [self.or_expr()]
                while self.accept("op", ","):
                    args.append(self.or_expr())
                if not self.accept("op", ")"):
                    raise self.error("')'")
                return ("call", value, tuple(args))
            return ("name", value)
        if self.accept("op", "("):
            node = self.or_expr()
            if not self.accept("op", ")"):
                raise self.error("')'")
            return node
        raise self.error("a number, a name or '('")


def parse_expression(text: str) -> tuple:
    """Parse ``text`` into an expression tree (nested tuples).

    Raises
    ------
    ConfigError
        Naming the column and the token that broke the grammar.
    """
    if not isinstance(text, str):
        raise ConfigError(f"expression must be a string; got {type(text).__name__}")
    return _Parser(text).parse()


def expression_names(tree: tuple) -> set[str]:
    """Variable names used in a parsed expression."""
    kind = tree[0]
    if kind == "name":
        return {tree[1]}
    if kind == "num":
        return set()
    if kind == "call":
        return set().union(*(expression_names(a) for a in tree[2]))
    return set().union(*(expression_names(t) for t in tree[1:] if isinstance(t, tuple)))


_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}
_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def evaluate(tree: tuple | str, env: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression (or its text) on NumPy arrays / scalars in ``env``.

    Comparisons with NaN are False, so a batch with a missing KPI fails a spec.

    Raises
    ------
    KeyError
        For a name missing from ``env``.
    """
    if isinstance(tree, str):
        tree = parse_expression(tree)
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "name":
        return np.asarray(env[tree[1]])
    if kind == "neg":
        return np.negative(evaluate(tree[1], env))
    if kind == "not":
        return np.logical_not(evaluate(tree[1], env))
    if kind == "and":
        return np.logical_and(evaluate(tree[1], env), evaluate(tree[2], env))
    if kind == "or":
        return np.logical_or(evaluate(tree[1], env), evaluate(tree[2], env))
    if kind == "cmp":
        with np.errstate(invalid="ignore"):
            return _CMP[tree[1]](evaluate(tree[2], env), evaluate(tree[3], env))
    if kind == "bin":
        with np.errstate(divide="ignore", invalid="ignore"):
            return _BIN[tree[1]](evaluate(tree[2], env), evaluate(tree[3], env))
    if kind == "call":
        args = [evaluate(a, env) for a in tree[2]]
        if tree[1] == "abs":
            return np.abs(args[0])
        fn = np.minimum if tree[1] == "min" else np.maximum
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out
    raise ConfigError(f"unknown expression node {kind!r}")  # pragma: no cover
