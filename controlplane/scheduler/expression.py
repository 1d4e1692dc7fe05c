"""ECS's cluster query language, and the placement constraints and strategies that use it.

    expr = parse_expression("attribute:ecs.instance-type =~ t2.* and not(task:group == db)")
    expr.evaluate(instance)            # True / False for one InstanceSnapshot
    parse_constraint("memberOf", "runningTasksCount < 3")
    parse_strategy("spread", "attribute:ecs.availability-zone")

Grammar (recursive descent; keywords are case-insensitive; positions are 0-based columns):

    expression := or
    or         := and (("||" | "or") and)*
    and        := unary (("&&" | "and") unary)*
    unary      := ("!" | "not") unary | "(" or ")" | comparison
    comparison := subject operator [argument]
    subject    := attribute:<name> | agentConnected | agentVersion | ec2InstanceId
                | registeredAt | runningTasksCount | task:group
    operator   := == equals | != not_equals | > greater_than | >= greater_than_equal
                | < less_than | <= less_than_equal | exists | !exists not_exists
                | in | !in not_in | =~ matches | !~ not_matches
    argument   := value | "[" value ("," value)* "]"          (lists for in / not_in only)
    value      := 'quoted' | "quoted" | bare   (bare ends at a space, ( ) quotes && ||,
                                                and inside a list also at [ ] ,)

Semantics, following the ECS documentation:

- A comparison holds when *some* value of the subject satisfies it. Every subject has one
  value except `task:group`, which has the group of every task on the instance (none when it
  is empty). A missing subject (an attribute the instance lacks, an unknown agent version)
  satisfies nothing but `!exists`: ``attribute:stack != prod`` selects the instances that
  have a `stack` attribute whose value is not `prod` (ECS's "exclude an attribute value"
  example), and ``task:group != db`` selects instances running some task of another group.
  Anti-affinity is therefore written ``not(task:group == db)``, as in ECS's example.
- `=~` and `!~` match the whole value (Java's `Pattern.matches`), with Python's `re` syntax.
- `agentVersion` compares dotted versions numerically (``1.9 < 1.14.5``); `registeredAt`
  compares instants, arguments in the documented forms ``2018-06-18T22:28:28+00:00``,
  ``...Z``, ``2018-06-18T22:28:28`` (UTC) or ``2018-06-18`` (midnight UTC);
  `runningTasksCount` compares integers; `agentConnected` is ``true`` or ``false``.
- `>`, `>=`, `<`, `<=` on an attribute compare numerically when both sides are numbers,
  else as strings.
- Each built-in subject accepts the operators the ECS documentation lists for it; attributes
  accept every operator, `task:group` every operator but the orderings. Anything else is an
  `ExpressionError` at parse time, naming the position; so is a bad regex, integer, version
  or date. Parentheses group sub-expressions; a value containing one must be quoted.
- `task:group` and `runningTasksCount` change as tasks are placed (`Expression.dynamic`);
  the scheduler re-evaluates them for the instances a batch touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from controlplane.scheduler.errors import ExpressionError, PlacementError

__all__ = [
    "Constraint", "Expression", "MAX_CONSTRAINTS", "MAX_EXPRESSION_LENGTH", "MAX_STRATEGIES",
    "Strategy", "constraint_from_text", "parse_constraint", "parse_constraints",
    "parse_expression", "parse_strategies", "parse_strategy", "strategy_from_text",
]

MAX_EXPRESSION_LENGTH = 2000  # ECS's limit on a constraint expression
MAX_CONSTRAINTS = 10          # per task, task definition and RunTask together
MAX_STRATEGIES = 5            # per task or service

# ---------------------------------------------------------------------------------------------
# Subjects and operators.

ALL_OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "exists", "!exists", "in", "!in", "=~", "!~")
_WORD_OPERATORS = {
    "equals": "==", "not_equals": "!=", "greater_than": ">", "greater_than_equal": ">=",
    "less_than": "<", "less_than_equal": "<=", "exists": "exists", "not_exists": "!exists",
    "in": "in", "not_in": "!in", "matches": "=~", "not_matches": "!~",
}
_SYMBOL_OPERATORS = ("==", "!=", ">=", "<=", "=~", "!~", ">", "<")  # longest first
_STRING_OPS = ("==", "!=", "in", "!in", "=~", "!~")
_ORDER_OPS = ("==", "!=", ">", ">=", "<", "<=")
_VALID_OPERATORS: dict[str, tuple[str, ...]] = {
    "agentConnected": _STRING_OPS,
    "agentVersion": _ORDER_OPS,
    "ec2InstanceId": _STRING_OPS,
    "registeredAt": _ORDER_OPS,
    "runningTasksCount": _ORDER_OPS,
    "task:group": _STRING_OPS + ("exists", "!exists"),
    "attribute:": ALL_OPERATORS,
}
SUBJECTS = tuple(s for s in _VALID_OPERATORS if s != "attribute:")
DYNAMIC_SUBJECTS = frozenset({"task:group", "runningTasksCount"})

_WORD = re.compile(r"[A-Za-z0-9_.\-/\\:]+")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-/\\]{1,128}")
_VERSION = re.compile(r"[vV]?(\d+(?:\.\d+)*)")
_BARE_END = frozenset(" \t\r\n()'\"")          # a bare value ends at these (or && ||)
_BARE_END_IN_LIST = _BARE_END | frozenset("[],")


# ---------------------------------------------------------------------------------------------
# The AST.

class Node:
    """An expression node; `evaluate` is pure and cheap (no allocation for single values)."""

    __slots__ = ()
    subjects: frozenset[str]

    def holds(self, instance: Any, groups: Collection[str], running: int) -> bool:
        raise NotImplementedError


class _Or(Node):
    __slots__ = ("items", "subjects")

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = tuple(items)
        self.subjects = frozenset().union(*(i.subjects for i in self.items))

    def holds(self, instance, groups, running):
        return any(item.holds(instance, groups, running) for item in self.items)

    def __repr__(self) -> str:
        return "(" + " || ".join(map(repr, self.items)) + ")"


class _And(Node):
    __slots__ = ("items", "subjects")

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = tuple(items)
        self.subjects = frozenset().union(*(i.subjects for i in self.items))

    def holds(self, instance, groups, running):
        return all(item.holds(instance, groups, running) for item in self.items)

    def __repr__(self) -> str:
        return "(" + " && ".join(map(repr, self.items)) + ")"


class _Not(Node):
    __slots__ = ("item", "subjects")

    def __init__(self, item: Node) -> None:
        self.item = item
        self.subjects = item.subjects

    def holds(self, instance, groups, running):
        return not self.item.holds(instance, groups, running)

    def __repr__(self) -> str:
        return f"!{self.item!r}"


class _Compare(Node):
    """`subject operator argument`: true when some value of the subject passes `test`."""

    __slots__ = ("subject", "op", "argument", "values", "test", "subjects")

    def __init__(self, subject: str, op: str, argument: Any,
                 values: Callable[[Any, Collection[str], int], Iterable[Any]],
                 test: Callable[[Any], bool]) -> None:
        self.subject, self.op, self.argument = subject, op, argument
        self.values, self.test = values, test
        self.subjects = frozenset({subject if not subject.startswith("attribute:")
                                   else "attribute:"})

    def holds(self, instance, groups, running):
        values = self.values(instance, groups, running)
        if self.op == "exists":
            return bool(values)
        if self.op == "!exists":
            return not values
        test = self.test
        for value in values:
            if test(value):
                return True
        return False

    def __repr__(self) -> str:
        return f"{self.subject} {self.op} {self.argument!r}"


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed cluster query language expression. `text` is the source as given."""

    text: str
    root: Node = field(repr=False)

    @property
    def dynamic(self) -> bool:
        """Whether the value can change as tasks are placed (task:group, runningTasksCount)."""
        return bool(self.root.subjects & DYNAMIC_SUBJECTS)

    def evaluate(self, instance: Any, task_groups: Collection[str] | None = None,
                 running_tasks: int | None = None) -> bool:
        """Evaluate against an `InstanceSnapshot` (or anything with its attributes).

        `task_groups` (the groups of the tasks on the instance) and `running_tasks` default
        to the snapshot's `task_groups` and its length; the scheduler passes the batch's view.
        """
        groups = instance.task_groups if task_groups is None else task_groups
        running = len(instance.task_groups) if running_tasks is None else running_tasks
        return self.root.holds(instance, groups, running)


# ---------------------------------------------------------------------------------------------
# Subject values.

def _attribute_values(name: str):
    def values(instance, groups, running):
        value = instance.attributes.get(name)
        return () if value is None else (value,)
    return values


def _agent_connected(instance, groups, running):
    return ("true" if instance.agent_connected else "false",)


def _agent_version(instance, groups, running):
    key = version_key(instance.agent_version)
    return () if key is None else (key,)


def _instance_id(instance, groups, running):
    return (instance.instance_id,)


def _registered_at(instance, groups, running):
    return (instance.registered_at_ms,)


def _running_tasks(instance, groups, running):
    return (running,)


def _task_groups(instance, groups, running):
    return groups


def version_key(text: str) -> tuple[int, ...] | None:
    """``1.14.5`` -> (1, 14, 5); trailing zeros dropped so 1.14 == 1.14.0; None if not a version."""
    match = _VERSION.match(text or "")
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    return {"==": lambda a, b: a == b, "!=": lambda a, b: a != b,
            ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}[op]


# ---------------------------------------------------------------------------------------------
# The parser.

@dataclass
class _Value:
    text: str
    position: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- scanning ---------------------------------------------------------------------------

    def error(self, message: str, position: int | None = None) -> ExpressionError:
        return ExpressionError(message, self.pos if position is None else position, self.text)

    def skip(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def peek_word(self) -> str:
        match = _WORD.match(self.text, self.pos)
        return match.group(0) if match else ""

    def shown(self) -> str:
        """The token at the cursor, as an error message shows it."""
        if self.pos >= len(self.text):
            return "end of expression"
        word = self.peek_word()
        if word:
            return repr(word[:40])
        for symbol in ("&&", "||") + _SYMBOL_OPERATORS:
            if self.text.startswith(symbol, self.pos):
                return repr(symbol)
        return repr(self.text[self.pos])

    def unexpected(self) -> ExpressionError:
        return self.error(f"unexpected {self.shown()}")

    def keyword(self, symbol: str, word: str) -> bool:
        """Consume `symbol` or the case-insensitive `word` (as a whole word) if next."""
        self.skip()
        if self.text.startswith(symbol, self.pos):
            self.pos += len(symbol)
            return True
        found = self.peek_word()
        if found.lower() == word:
            self.pos += len(found)
            return True
        return False

    # -- grammar ----------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.at_end():
            raise self.error("empty expression", 0)
        node = self.parse_or()
        if not self.at_end():
            raise self.unexpected()
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("||", "or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else _Or(items)

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.keyword("&&", "and"):
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else _And(items)

    def parse_unary(self) -> Node:
        if self.at_end():
            raise self.error("unexpected end of expression, expected a subject")
        text, start = self.text, self.pos
        if text[start] == "!" and not text.startswith(("!=", "!~"), start):
            self.pos += 1
            return _Not(self.parse_unary())
        if self.peek_word().lower() == "not":
            self.pos += 3
            return _Not(self.parse_unary())
        if text[start] == "(":
            self.pos += 1
            node = self.parse_or()
            self.skip()
            if self.pos >= len(text) or text[self.pos] != ")":
                raise self.error(f"expected ')' to close the '(' at position {start}, "
                                 f"found {self.shown()}")
            self.pos += 1
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        start = self.pos
        subject = self.peek_word()
        if not subject or subject.lower() in ("and", "or"):
            raise self.error(f"expected a subject, found {self.shown()}")
        kind = self.subject_kind(subject, start)
        self.pos += len(subject)
        op_start = self.parse_operator_position()
        op = self.parse_operator(subject)
        valid = _VALID_OPERATORS[kind]
        if op not in valid:
            raise self.error(f"operator '{op}' is not valid for {kind.rstrip(':') or subject} "
                             f"(valid: {', '.join(valid)})", op_start)
        if op in ("exists", "!exists"):
            return _Compare(subject, op, None, self.values_of(subject), lambda v: True)
        if op in ("in", "!in"):
            items = self.parse_list(op)
            return self.compare(subject, kind, op, items)
        return self.compare(subject, kind, op, [self.parse_value(op)])

    def subject_kind(self, subject: str, start: int) -> str:
        if subject.startswith("attribute:"):
            name = subject[len("attribute:"):]
            if not _ATTRIBUTE_NAME.fullmatch(name):
                raise self.error(f"invalid attribute name {name!r} (1 to 128 letters, digits, "
                                 f"'-', '_', '.', '/' or '\\')", start)
            return "attribute:"
        if subject in _VALID_OPERATORS:
            return subject
        raise self.error(f"unknown subject {subject!r} (expected attribute:<name>, "
                         f"{', '.join(SUBJECTS)})", start)

    def parse_operator_position(self) -> int:
        self.skip()
        return self.pos

    def parse_operator(self, subject: str) -> str:
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error(f"expected an operator after {subject!r}")
        for negated in ("!exists", "!in"):
            if text.startswith(negated, pos) and not _WORD.match(text, pos + len(negated)):
                self.pos += len(negated)
                return negated
        for symbol in _SYMBOL_OPERATORS:
            if text.startswith(symbol, pos):
                self.pos += len(symbol)
                return symbol
        word = self.peek_word()
        op = _WORD_OPERATORS.get(word.lower())
        if op is None:
            raise self.error(f"unknown operator {self.shown()} after {subject!r}")
        self.pos += len(word)
        return op

    def parse_value(self, op: str, in_list: bool = False) -> _Value:
        self.skip()
        text, start = self.text, self.pos
        if start >= len(text):
            raise self.error(f"expected a value after '{op}', found end of expression")
        quote = text[start]
        if quote in "'\"":
            chars, pos = [], start + 1
            while pos < len(text) and text[pos] != quote:
                if text[pos] == "\\" and pos + 1 < len(text) and text[pos + 1] in (quote, "\\"):
                    pos += 1
                chars.append(text[pos])
                pos += 1
            if pos >= len(text):
                raise self.error("unterminated quoted value", start)
            self.pos = pos + 1
            return _Value("".join(chars), start)
        pos = start
        end = _BARE_END_IN_LIST if in_list else _BARE_END
        while pos < len(text) and text[pos] not in end and not text.startswith(("&&", "||"), pos):
            pos += 1
        if pos == start:
            raise self.error(f"expected a value after '{op}', found {self.shown()}")
        self.pos = pos
        return _Value(text[start:pos], start)

    def parse_list(self, op: str) -> list[_Value]:
        self.skip()
        if self.pos >= len(self.text) or self.text[self.pos] != "[":
            raise self.error(f"expected a list '[a, b, ...]' after '{op}', found {self.shown()}")
        open_at = self.pos
        self.pos += 1
        items = [self.parse_value(op, in_list=True)]
        while True:
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
                items.append(self.parse_value(op, in_list=True))
            elif self.pos < len(self.text) and self.text[self.pos] == "]":
                self.pos += 1
                return items
            else:
                raise self.error(f"expected ',' or ']' to continue the list opened at position "
                                 f"{open_at}, found {self.shown()}")

    # -- typing the comparison --------------------------------------------------------------

    def values_of(self, subject: str):
        if subject.startswith("attribute:"):
            return _attribute_values(subject[len("attribute:"):])
        return {"agentConnected": _agent_connected, "agentVersion": _agent_version,
                "ec2InstanceId": _instance_id, "registeredAt": _registered_at,
                "runningTasksCount": _running_tasks, "task:group": _task_groups}[subject]

    def compare(self, subject: str, kind: str, op: str, items: list[_Value]) -> Node:
        values = self.values_of(subject)
        argument: Any = [v.text for v in items] if op in ("in", "!in") else items[0].text
        if op in ("=~", "!~"):
            value = items[0]
            try:
                pattern = re.compile(value.text)
            except re.error as exc:
                raise self.error(f"invalid regular expression {value.text!r}: {exc.msg}",
                                 value.position) from None
            matches = pattern.fullmatch
            test = ((lambda v: matches(v) is not None) if op == "=~"
                    else (lambda v: matches(v) is None))
            return _Compare(subject, op, argument, values, test)
        converted = [self.convert(kind, v) for v in items]
        if op in ("in", "!in"):
            members = frozenset(converted)
            test = (lambda v: v in members) if op == "in" else (lambda v: v not in members)
            return _Compare(subject, op, argument, values, test)
        target = converted[0]
        if kind == "attribute:" and op not in ("==", "!="):
            test = self.attribute_order(op, target)
        else:
            compare = _ordered(op)
            test = lambda v: compare(v, target)  # noqa: E731
        return _Compare(subject, op, argument, values, test)

    @staticmethod
    def attribute_order(op: str, target: str) -> Callable[[str], bool]:
        compare = _ordered(op)
        target_number = _number(target)

        def test(value: str) -> bool:
            number = _number(value) if target_number is not None else None
            if number is not None:
                return compare(number, target_number)
            return compare(value, target)
        return test

    def convert(self, kind: str, value: _Value) -> Any:
        text = value.text
        if kind == "agentConnected":
            if text.lower() not in ("true", "false"):
                raise self.error(f"agentConnected is true or false, got {text!r}", value.position)
            return text.lower()
        if kind == "runningTasksCount":
            if not text.isdigit():
                raise self.error(f"runningTasksCount needs a whole number, got {text!r}",
                                 value.position)
            return int(text)
        if kind == "agentVersion":
            key = version_key(text)
            if key is None or _VERSION.fullmatch(text) is None:
                raise self.error(f"agentVersion needs a version like 1.14.5, got {text!r}",
                                 value.position)
            return key
        if kind == "registeredAt":
            millis = parse_instant(text)
            if millis is None:
                raise self.error(f"registeredAt needs a date like 2018-06-18 or "
                                 f"2018-06-18T22:28:28Z, got {text!r}", value.position)
            return millis
        return text


def parse_instant(text: str) -> int | None:
    """Milliseconds since the epoch of an ECS date argument (naive times are UTC)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                        r"(Z|[+-]\d{2}:?\d{2})?)?", text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def parse_expression(text: str) -> Expression:
    """Parse a cluster query language expression, or raise `ExpressionError` with the column."""
    if not isinstance(text, str):
        raise ExpressionError("the expression must be a string", 0, str(text))
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"longer than {MAX_EXPRESSION_LENGTH} characters",
                              MAX_EXPRESSION_LENGTH, text)
    return Expression(text, _Parser(text).parse())


# ---------------------------------------------------------------------------------------------
# Constraints and strategies.

CONSTRAINT_TYPES = ("distinctInstance", "memberOf")
STRATEGY_TYPES = ("binpack", "random", "spread")


@dataclass(frozen=True)
class Constraint:
    """A placement constraint (binding). Construct with `parse_constraint` for field paths.

    `memberOf` needs an expression; `distinctInstance` (each task of the task's group on a
    different instance, counting the tasks already there) takes none. Equal constraints
    compare equal by (type, expression).
    """

    type: str
    expression: str = ""
    parsed: Expression | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        kind = {t.lower(): t for t in CONSTRAINT_TYPES}.get(str(self.type).lower())
        if kind is None:
            raise PlacementError("type", f"must be one of {', '.join(CONSTRAINT_TYPES)}, "
                                         f"got {self.type!r}")
        object.__setattr__(self, "type", kind)
        if not isinstance(self.expression, str):  # JSON may give anything
            raise PlacementError("expression", f"must be a string, got {self.expression!r}")
        expression = self.expression if self.expression.strip() else ""
        if kind == "distinctInstance":
            if expression:
                raise PlacementError("expression", "distinctInstance takes no expression")
            object.__setattr__(self, "expression", "")
            return
        if not expression:
            raise PlacementError("expression", "memberOf needs an expression")
        object.__setattr__(self, "parsed", parse_expression(expression))

    @property
    def dynamic(self) -> bool:
        """Whether the verdict for an instance can change as a batch places tasks."""
        return self.type == "distinctInstance" or bool(self.parsed and self.parsed.dynamic)

    def __str__(self) -> str:
        if self.type == "distinctInstance":
            return "distinctInstance"
        return f"memberOf:{self.expression}"


@dataclass(frozen=True)
class Strategy:
    """A placement strategy (best effort). Fields are normalised: ``binpack`` on ``cpu`` or
    ``memory``; ``spread`` on ``instanceId`` (``host`` is accepted as the same thing) or
    ``attribute:<name>``; ``random`` has no field (one given is ignored, as ECS does)."""

    type: str
    field: str = ""

    def __post_init__(self) -> None:
        kind = str(self.type).lower()
        if kind not in STRATEGY_TYPES:
            raise PlacementError("type", f"must be one of {', '.join(STRATEGY_TYPES)}, "
                                         f"got {self.type!r}")
        object.__setattr__(self, "type", kind)
        value = (self.field or "").strip()
        if kind == "random":
            object.__setattr__(self, "field", "")
        elif kind == "binpack":
            if value.lower() not in ("cpu", "memory"):
                raise PlacementError("field", f"binpack needs field cpu or memory, got {value!r}")
            object.__setattr__(self, "field", value.lower())
        elif value.lower() in ("instanceid", "host"):
            object.__setattr__(self, "field", "instanceId")
        elif value.startswith("attribute:"):
            name = value[len("attribute:"):]
            if not _ATTRIBUTE_NAME.fullmatch(name):
                raise PlacementError("field", f"invalid attribute name {name!r}")
            object.__setattr__(self, "field", value)
        else:
            raise PlacementError("field", f"spread needs field instanceId, host or "
                                          f"attribute:<name>, got {value!r}")

    @property
    def attribute(self) -> str | None:
        """The attribute a `spread` strategy counts by, None for instanceId and the others."""
        return self.field[len("attribute:"):] if self.field.startswith("attribute:") else None

    def __str__(self) -> str:
        return self.type if self.type == "random" else f"{self.type}:{self.field}"


def _at(path: str, error: PlacementError) -> PlacementError:
    if isinstance(error, ExpressionError):
        return ExpressionError(error.message, error.position, error.expression,
                               field=f"{path}.{error.field}")
    return PlacementError(f"{path}.{error.field}", error.message)


def parse_constraint(type: str, expression: str = "", *,
                     path: str = "placementConstraints[0]") -> Constraint:
    """Validate one constraint; errors name ``<path>.type`` or ``<path>.expression``."""
    try:
        return Constraint(type, expression or "")
    except PlacementError as error:
        raise _at(path, error) from None


def parse_strategy(type: str, field: str = "", *, path: str = "placementStrategy[0]") -> Strategy:
    """Validate one strategy; errors name ``<path>.type`` or ``<path>.field``."""
    try:
        return Strategy(type, field or "")
    except PlacementError as error:
        raise _at(path, error) from None


def parse_constraints(items: Sequence[Mapping[str, Any]], *, path: str = "placementConstraints",
                      allow_distinct_instance: bool = True) -> tuple[Constraint, ...]:
    """ECS JSON (``[{"type": ..., "expression": ...}]``) to constraints, at most 10.

    Task definitions do not take `distinctInstance` (pass ``allow_distinct_instance=False``).
    """
    if len(items) > MAX_CONSTRAINTS:
        raise PlacementError(path, f"at most {MAX_CONSTRAINTS} constraints, got {len(items)}")
    parsed = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            raise PlacementError(where, "must be an object with type and expression")
        constraint = parse_constraint(item.get("type", ""), item.get("expression", "") or "",
                                      path=where)
        if constraint.type == "distinctInstance" and not allow_distinct_instance:
            raise PlacementError(f"{where}.type", "distinctInstance is not supported here")
        parsed.append(constraint)
    return tuple(parsed)


def parse_strategies(items: Sequence[Mapping[str, Any]], *,
                     path: str = "placementStrategy") -> tuple[Strategy, ...]:
    """ECS JSON (``[{"type": ..., "field": ...}]``) to strategies, at most 5, applied in order."""
    if len(items) > MAX_STRATEGIES:
        raise PlacementError(path, f"at most {MAX_STRATEGIES} strategies, got {len(items)}")
    parsed = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            raise PlacementError(where, "must be an object with type and field")
        parsed.append(parse_strategy(item.get("type", ""), item.get("field", "") or "", path=where))
    return tuple(parsed)


def strategy_from_text(text: str, *, path: str = "strategy") -> tuple[Strategy, ...]:
    """Command-line form: ``binpack:memory``, ``spread:attribute:zone``, ``random``; a chain
    is comma-separated: ``spread:attribute:ecs.availability-zone,binpack:memory``."""
    chain = []
    for index, part in enumerate(p.strip() for p in text.split(",")):
        kind, _, value = part.partition(":")
        chain.append(parse_strategy(kind, value, path=f"{path}[{index}]"))
    if len(chain) > MAX_STRATEGIES:
        raise PlacementError(path, f"at most {MAX_STRATEGIES} strategies, got {len(chain)}")
    return tuple(chain)


def constraint_from_text(text: str, *, path: str = "constraint") -> Constraint:
    """Command-line form: ``distinctInstance`` or ``memberOf:<expression>``."""
    kind, _, expression = text.partition(":")
    return parse_constraint(kind.strip(), expression, path=path)
