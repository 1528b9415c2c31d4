"""Compiles a rule into Python source, exec'd once: the closures' semantics without a call per operator."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from survey_forms import generated
from survey_forms.rules import emit as rules_emit
from survey_forms.rules import emit_arithmetic as rules_emit_arithmetic
from survey_forms.rules.compiler import OPERATORS, SCALARS, Compiler
from survey_forms.rules.emit import ANY, BOOL, NUM, STR, Code
from survey_forms.rules.fast import NAMESPACE
from survey_forms.rules.js import INFINITY, MAX_SAFE
from survey_forms.rules.logic import BOOLEAN_OPERATORS

# How it works. The closure compiler (rules_compiler) stays the reference: compile_rule runs it first, so that
# compile errors are its own, and the generated code only ever runs on rules it accepted. Each operator with an
# emitter (rules_emit) becomes a Python expression that calls the same helpers as its closure, in the same order,
# with shortcuts only where the kinds of the operands (rules_emit.Code.kind) make them give the same answer.
# Operators without an emitter (iterators, try, throw, missing, preserve, computed paths) are built by their own
# closure code with this compiler as `c`, so their arguments and bodies are generated functions in turn.
#
# A generated function assumes that its data is a dict (field reads become d.get(key)); for any other data it
# calls the closures of the same rule. Nothing of the rule is pasted into the source: keys and strings are
# written with repr(), and every other value is a constant in the function's namespace.
INLINE_LEVELS = 12  # operators nested in one function; deeper ones get a function of their own (parser limits)
_READ = re.compile("\0([0-9]+)\0")  # a read's place in the source; repr() never writes a NUL character
EMITTERS = {**rules_emit.EMITTERS, **rules_emit_arithmetic.EMITTERS}


class _Function:
    """What one generated function collects: its constants, temporaries and the field reads it makes."""

    def __init__(self, data: str) -> None:
        self.data = data  # its parameter: d, or data for the rule's own function (whose parameter keeps that name)
        self.constants: dict[str, Any] = {}
        self.count = 0
        self.reads: list[list] = []  # [source, uses]
        self.read_index: dict[tuple, int] = {}

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def build(self, body: str, closures: Callable, top: bool, at: str) -> Callable:
        # A read used more than once is made once, first: reads of a dict cannot raise, so none is out of turn.
        hoisted = [f"_r{index} = {source}" for index, (source, uses) in enumerate(self.reads) if uses > 1]
        body = _READ.sub(lambda match: self._read_at(int(match.group(1))), body)
        data = self.data
        lines = [f"if type({data}) is not dict:", f"    return _closures({data}, {'None' if top else 'up'})", *hoisted,
                 f"return {body}"]
        if top:
            # The rule's own function: no scopes above it (up is None), and RecursionError as compile_rule's.
            lines[2:2] = ["up = None"] if re.search(r"\bup\b", body) else []
            source = "def evaluate(data=None):\n    try:\n" + "".join(f"        {line}\n" for line in lines) + \
                     "    except RecursionError:\n        raise _too_deep() from None\n"
        else:
            source = "def generated(d, up):\n" + "".join(f"    {line}\n" for line in lines)
        namespace = {**NAMESPACE, **self.constants, "_closures": closures}
        generated.run(source, f"rule {at or '/'}", namespace)  # our own source, see the note above
        return namespace["evaluate" if top else "generated"]

    def _read_at(self, index: int) -> str:
        source, uses = self.reads[index]
        return f"_r{index}" if uses > 1 else source


class FastCompiler(Compiler):
    """A Compiler whose node() gives generated functions; the emitters call back into it for their operands."""

    def __init__(self, scopes: bool) -> None:
        super().__init__(scopes)
        self._fn: _Function | None = None
        self._levels = 0
        self.data = "d"  # the variable holding the data: the function's parameter, or an inlined iterator's element

    def node(self, node: Any, at: str) -> Callable[[Any, Any], Any]:
        """fn(data, scopes) for an argument of a closure operator: generated, unless it is only a read or a literal."""
        if type(node) is dict and len(node) == 1 and next(iter(node)) in EMITTERS and next(iter(node)) not in ("var", "val"):
            return self.function(node, at)
        return super().node(node, at)

    def function(self, rule: Any, at: str, closures: Callable | None = None, top: bool = False) -> Callable:
        outer = self._fn, self._levels, self.data
        self._fn, self._levels, self.data = _Function("data" if top else "d"), 0, "data" if top else "d"
        try:
            body, fn = self.expr(rule, at).src, self._fn
        finally:
            self._fn, self._levels, self.data = outer
        if closures is None:
            closures = Compiler(self.scopes).node(rule, at)
        return fn.build(body, closures, top, at)

    def expr(self, node: Any, at: str) -> Code:
        """The Python expression of a (valid) rule inside the function being generated."""
        kind = type(node)
        if kind in SCALARS:
            return self.literal(node)
        if kind is dict and not node:
            return Code("{}", ANY, True)
        op = next(iter(node)) if kind is dict else None
        if self._levels >= INLINE_LEVELS:
            return self._call(self.function(node, at), op)
        self._levels += 1
        try:
            if kind is list:
                items = [self.expr(item, f"{at}/{index}") for index, item in enumerate(node)]
                return Code("[" + ", ".join(item.src for item in items) + "]", ANY, all(item.safe for item in items))
            emit = EMITTERS.get(op)
            code = emit(self, op, node[op], at) if emit else None
            return code if code is not None else self._call(OPERATORS[op](self, op, node[op], at), op)
        finally:
            self._levels -= 1

    def test(self, node: Any, at: str) -> str:
        """An expression giving exactly truthy(<node's value>), without computing the value where it need not."""
        if type(node) is dict and len(node) == 1:
            (op, arg), = node.items()
            if op in ("and", "or") and type(arg) is list and arg and self._levels < INLINE_LEVELS:
                # truthy(a and b) is truthy(a) and truthy(b): the same operands evaluated, no values kept.
                self._levels += 1
                try:
                    tests = [self.test(*item) for item in self.listed(op, arg, at)]
                finally:
                    self._levels -= 1
                return "(" + f" {op} ".join(tests) + ")"
        return self.truth(self.expr(node, at))

    def truth(self, code: Code) -> str:
        if code.kind == BOOL:
            return code.src
        if code.kind == STR:
            return f"({code.src} != '')"
        if code.kind == NUM:
            return f"({code.src} != 0)"  # never NaN; -0.0 is false in both
        # truthy() itself, with the usual answers (a boolean, null, a string) found without calling it.
        temp = self.temp()
        return (f"(({temp} := {code.src}) is True or ({temp} is not False and {temp} is not None and "
                f"({temp} != '' if type({temp}) is str else _truthy({temp}))))")

    def number(self, src: str) -> str:
        """rules_arithmetic._number(<src>): floats and ints within 2**53 as they are, anything else through to_number()."""
        temp = self.temp()
        return (f"({temp} if type({temp} := {src}) is float or type({temp}) is int and "
                f"-{MAX_SAFE} <= {temp} <= {MAX_SAFE} else _to_number({temp}))")

    def parse(self, src: str) -> str:
        """parse_number(<src>) of a string, the numbers of recent strings (e.g. "05" of a date) looked up first."""
        text, number = self.temp(), self.temp()
        return f"({number} if ({number} := _parsed(({text} := {src}))) is not None else _parse_new({text}))"

    def literal(self, value: Any) -> Code:
        kind = type(value)
        if kind is str:
            return Code(repr(value), STR, True, size=len(value))
        if kind is bool or value is None:
            return Code(repr(value), BOOL if kind is bool else ANY, True)
        if kind is int and -MAX_SAFE <= value <= MAX_SAFE:
            return Code(repr(value) if value >= 0 else f"({value!r})", NUM, True, bound=(abs(value), abs(value)))
        finite = kind is float and abs(value) < INFINITY
        numeric = kind is float and value == value
        return Code(self.constant(value), NUM if numeric else ANY, True, bound=(0, abs(value)) if finite else None)

    def constant(self, value: Any) -> str:
        name = self._fn.name("_k")
        self._fn.constants[name] = value
        return name

    def temp(self) -> str:
        return self._fn.name("_t")

    def read(self, steps: tuple, default: Any) -> Code:
        """A read of a literal path with a literal default, as read_field/read_path make it for a dict."""
        if self.data != self._fn.data:
            return Code(self._read_source(steps, default), ANY, True)  # an element's: read where it is
        fn = self._fn
        key = (steps, type(default), repr(default))
        index = fn.read_index.get(key)
        if index is None:
            index = fn.read_index[key] = len(fn.reads)
            fn.reads.append([self._read_source(steps, default), 0])
        fn.reads[index][1] += 1
        return Code(f"\0{index}\0", ANY, True)

    def _read_source(self, steps: tuple, default: Any) -> str:
        fallback = self.literal(default).src
        first = f"{self.data}.get({steps[0][0]!r})"
        if len(steps) == 1:
            got = first
        elif len(steps) == 2:
            temp = self.temp()
            got = (f"({temp}.get({steps[1][0]!r}) if type({temp} := {first}) is dict "
                   f"else _rest({temp}, {self.constant(steps[1:])}, {fallback}))")
        else:
            got = f"_rest({first}, {self.constant(steps[1:])}, {fallback})"
        if default is None:
            return got
        temp = self.temp()
        return f"({fallback} if ({temp} := {got}) is None else {temp})"

    def _call(self, fn: Callable, op: str | None) -> Code:
        return Code(f"{self.constant(fn)}({self.data}, up)", BOOL if op in BOOLEAN_OPERATORS else ANY)

    def element(self, node: Any, at: str, test: bool) -> tuple[str, str]:
        """(variable, expression) of an iterator's body inlined over an element, or its closures for a non-dict one."""
        element, outer = self.temp(), self.data
        self.data = element
        try:
            body = self.test(node, at) if test else self.expr(node, at).src
        finally:
            self.data = outer
        closures = f"{self.constant(Compiler(self.scopes).node(node, at))}({element}, up)"
        return element, f"({body} if type({element}) is dict else {f'_truthy({closures})' if test else closures})"


def compile_fast(rule: Any, scopes: bool, closures: Callable) -> Callable[[Any], Any]:
    """fn(data=None) for a rule that the closure compiler accepted (closures: what it made of it)."""
    return FastCompiler(scopes).function(rule, "", closures, top=True)
