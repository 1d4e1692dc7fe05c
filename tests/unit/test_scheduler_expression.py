"""The cluster query language: every subject and operator, ECS's documented examples, and
errors that point at the column; constraint and strategy validation."""

from __future__ import annotations

import pytest

from controlplane.scheduler import (Constraint, ExpressionError, InstanceSnapshot,
                                    PlacementError, Strategy, constraint_from_text,
                                    parse_constraint, parse_constraints, parse_expression,
                                    parse_strategies, parse_strategy, strategy_from_text)

# 2018-02-13T00:00:00Z and 2018-06-18T22:28:28Z in milliseconds.
FEB_13 = 1_518_480_000_000
JUNE_18 = 1_529_360_908_000

T2 = InstanceSnapshot(
    "i-abcd1234", 1024, 2048, attributes={
        "ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1a",
        "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", "stack": "prod",
        "slots": "8", "label with space": "x"},
    agent_version="1.14.2", registered_at_ms=FEB_13 - 1, task_groups=("service:production",))
G2 = InstanceSnapshot(
    "i-wxyx7890", 1024, 2048, agent_connected=False, attributes={
        "ecs.instance-type": "g2.2xlarge", "ecs.availability-zone": "us-east-1d",
        "slots": "10"},
    agent_version="1.20.0", registered_at_ms=JUNE_18, task_groups=("database", "database"))
BARE = InstanceSnapshot("i-0000", 1024, 2048, agent_version="", registered_at_ms=JUNE_18)


def verdicts(expression: str) -> tuple[bool, bool, bool]:
    parsed = parse_expression(expression)
    return parsed.evaluate(T2), parsed.evaluate(G2), parsed.evaluate(BARE)


# (expression, (T2, G2, BARE))
ECS_EXAMPLES = [
    ("attribute:ecs.instance-type == t2.small", (True, False, False)),
    ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", (True, False, False)),
    ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
     (False, False, False)),
    ("task:group == service:production", (True, False, False)),
    ("not(task:group == database)", (True, False, True)),
    ("runningTasksCount == 1", (True, False, False)),
    ("agentVersion < 1.14.5", (True, False, False)),
    ("registeredAt < 2018-02-13", (True, False, False)),
    ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", (True, True, False)),
    ("attribute:ecs.instance-type =~ t2.*", (True, False, False)),
    ("task:group == databases", (False, False, False)),
    ("attribute:ecs.instance-type == g2.2xlarge", (False, True, False)),
    ("attribute:stack == prod", (True, False, False)),
    ("attribute:stack != prod", (False, False, False)),  # ECS: only instances *with* stack
    ("attribute:ecs.instance-type in [t2.small, t2.medium]", (True, False, False)),
    ("attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a",
     (True, False, False)),
]


@pytest.mark.parametrize("expression, expected", ECS_EXAMPLES,
                         ids=[e for e, _ in ECS_EXAMPLES])
def test_ecs_documented_examples(expression, expected):
    assert verdicts(expression) == expected


OPERATORS = [
    # equality, both spellings
    ("eq-symbol", "attribute:ecs.os-type == linux", (True, False, False)),
    ("eq-word", "attribute:ecs.os-type equals linux", (True, False, False)),
    ("ne-symbol", "attribute:slots != 8", (False, True, False)),
    ("ne-word", "attribute:slots not_equals 8", (False, True, False)),
    # orderings: numbers compare as numbers (8 < 10), other strings as strings
    ("gt-symbol", "attribute:slots > 9", (False, True, False)),
    ("gt-word", "attribute:slots greater_than 9", (False, True, False)),
    ("ge-symbol", "attribute:slots >= 8", (True, True, False)),
    ("ge-word", "attribute:slots greater_than_equal 10", (False, True, False)),
    ("lt-symbol", "attribute:slots < 9", (True, False, False)),
    ("lt-word", "attribute:slots less_than 9", (True, False, False)),
    ("le-symbol", "attribute:slots <= 10", (True, True, False)),
    ("le-word", "attribute:slots less_than_equal 8", (True, False, False)),
    ("string-order", "attribute:ecs.availability-zone > us-east-1b", (False, True, False)),
    # existence
    ("exists", "attribute:stack exists", (True, False, False)),
    ("not-exists-symbol", "attribute:stack !exists", (False, True, True)),
    ("not-exists-word", "attribute:stack not_exists", (False, True, True)),
    # lists
    ("in", "attribute:slots in [8, 9]", (True, False, False)),
    ("not-in-symbol", "attribute:slots !in [8, 9]", (False, True, False)),
    ("not-in-word", "attribute:slots not_in [8, 9]", (False, True, False)),
    ("in-one", "attribute:slots in [10]", (False, True, False)),
    ("in-quoted", "attribute:ecs.instance-type in [\"t2.small\", 'g2.2xlarge']",
     (True, True, False)),
    # patterns match the whole value
    ("matches-symbol", "attribute:ecs.instance-type =~ t2\\..*", (True, False, False)),
    ("matches-word", "attribute:ecs.instance-type matches .*xlarge", (False, True, False)),
    ("matches-whole-value", "attribute:ecs.instance-type =~ t2", (False, False, False)),
    ("not-matches-symbol", "attribute:ecs.instance-type !~ t2.*", (False, True, False)),
    ("not-matches-word", "attribute:ecs.instance-type not_matches t2.*", (False, True, False)),
    ("quoted-regex-parens", "attribute:ecs.instance-type =~ '(t2|g2)\\..*'", (True, True, False)),
    # boolean operators, precedence, parentheses, case
    ("and-symbol", "attribute:stack == prod && runningTasksCount == 1", (True, False, False)),
    ("or-symbol", "attribute:stack == prod || agentConnected == false", (True, True, False)),
    ("or-word", "attribute:stack == prod or ec2InstanceId == i-0000", (True, False, True)),
    ("not-symbol", "!attribute:stack exists", (False, True, True)),
    ("not-word-space", "not attribute:stack exists", (False, True, True)),
    ("and-binds-tighter", "ec2InstanceId == i-0000 or attribute:stack == prod and "
                          "runningTasksCount == 0", (False, False, True)),
    ("parentheses", "(ec2InstanceId == i-0000 or attribute:stack == prod) and "
                    "runningTasksCount == 0", (False, False, True)),
    ("double-not", "not not attribute:stack exists", (True, False, False)),
    ("keywords-any-case", "attribute:stack EXISTS AND NOT runningTasksCount > 1",
     (True, False, False)),
    ("no-spaces", "runningTasksCount==1&&attribute:slots<9", (True, False, False)),
    ("quoted-space", "attribute:'label with space' exists", None),  # a subject is never quoted
]


@pytest.mark.parametrize("expression, expected", [(e, x) for _, e, x in OPERATORS if x],
                         ids=[name for name, _, x in OPERATORS if x])
def test_operators(expression, expected):
    assert verdicts(expression) == expected


SUBJECTS = [
    ("agentConnected-eq", "agentConnected == true", (True, False, True)),
    ("agentConnected-ne", "agentConnected != true", (False, True, False)),
    ("agentConnected-in", "agentConnected in [false]", (False, True, False)),
    ("agentConnected-not-in", "agentConnected !in [false]", (True, False, True)),
    ("agentConnected-matches", "agentConnected =~ f.*", (False, True, False)),
    ("agentConnected-not-matches", "agentConnected !~ f.*", (True, False, True)),
    ("agentConnected-case", "agentConnected == FALSE", (False, True, False)),
    ("agentVersion-eq-trailing-zero", "agentVersion == 1.20", (False, True, False)),
    ("agentVersion-ne", "agentVersion != 1.20.0", (True, False, False)),
    ("agentVersion-gt-numeric", "agentVersion > 1.9", (True, True, False)),
    ("agentVersion-ge", "agentVersion >= 1.20.0", (False, True, False)),
    ("agentVersion-le", "agentVersion <= 1.14.2", (True, False, False)),
    ("agentVersion-v-prefix", "agentVersion < v1.15", (True, False, False)),
    ("ec2InstanceId-eq", "ec2InstanceId == i-abcd1234", (True, False, False)),
    ("ec2InstanceId-ne", "ec2InstanceId != i-abcd1234", (False, True, True)),
    ("ec2InstanceId-not-in", "ec2InstanceId not_in [i-abcd1234]", (False, True, True)),
    ("ec2InstanceId-matches", "ec2InstanceId =~ i-[a-z0-9]{8}", (True, True, False)),
    ("ec2InstanceId-not-matches", "ec2InstanceId !~ i-0.*", (True, True, False)),
    ("registeredAt-date", "registeredAt >= 2018-02-13", (False, True, True)),
    ("registeredAt-zulu", "registeredAt == 2018-06-18T22:28:28Z", (False, True, True)),
    ("registeredAt-offset", "registeredAt == 2018-06-19T00:28:28+02:00", (False, True, True)),
    ("registeredAt-naive-is-utc", "registeredAt == 2018-06-18T22:28:28", (False, True, True)),
    ("registeredAt-ne", "registeredAt != 2018-06-18T22:28:28+00:00", (True, False, False)),
    ("registeredAt-le", "registeredAt <= 2018-02-12T23:59:59.999Z", (True, False, False)),
    ("registeredAt-gt", "registeredAt > 2018-02-13", (False, True, True)),
    ("runningTasksCount-eq", "runningTasksCount == 0", (False, False, True)),
    ("runningTasksCount-ne", "runningTasksCount != 0", (True, True, False)),
    ("runningTasksCount-gt", "runningTasksCount > 1", (False, True, False)),
    ("runningTasksCount-ge", "runningTasksCount >= 1", (True, True, False)),
    ("runningTasksCount-lt", "runningTasksCount < 2", (True, False, True)),
    ("runningTasksCount-le", "runningTasksCount <= 2", (True, True, True)),
    ("task-group-eq", "task:group == database", (False, True, False)),
    ("task-group-ne-means-some-other", "task:group != database", (True, False, False)),
    ("task-group-in", "task:group in [database, cache]", (False, True, False)),
    ("task-group-not-in", "task:group !in [database]", (True, False, False)),
    ("task-group-matches", "task:group =~ service:.*", (True, False, False)),
    ("task-group-not-matches", "task:group !~ service:.*", (False, True, False)),
    ("task-group-exists", "task:group exists", (True, True, False)),
    ("task-group-not-exists", "task:group !exists", (False, False, True)),
    ("attribute-missing-satisfies-nothing", "attribute:nope == x || attribute:nope != x "
                                            "|| attribute:nope !in [x] || attribute:nope !~ x",
     (False, False, False)),
    ("attribute-name-chars", "attribute:a/b\\c_d-e.f !exists", (True, True, True)),
]


@pytest.mark.parametrize("expression, expected", [(e, x) for _, e, x in SUBJECTS],
                         ids=[name for name, _, _ in SUBJECTS])
def test_subjects(expression, expected):
    assert verdicts(expression) == expected


def test_dynamic_values_override_the_snapshot():
    parsed = parse_expression("task:group == web and runningTasksCount == 2")
    assert parsed.dynamic
    assert not parsed.evaluate(BARE)
    assert parsed.evaluate(BARE, task_groups=["web", "db"], running_tasks=2)
    assert not parse_expression("attribute:x exists or ec2InstanceId == i").dynamic


# (expression, message, position): positions are 0-based columns.
ERRORS = [
    ("", "empty expression", 0),
    ("   ", "empty expression", 0),
    ("attribute:a == b foo", "unexpected 'foo'", 17),
    ("foo == 1", "unknown subject 'foo'", 0),
    ("attribute: == 1", "invalid attribute name ''", 0),
    ("attribute:a*b == 1", "unknown operator '*'", 11),
    ("attribute:a", "expected an operator after 'attribute:a'", 11),
    ("attribute:a likes b", "unknown operator 'likes'", 12),
    ("attribute:a ==", "expected a value after '==', found end of expression", 14),
    ("attribute:a == )", "expected a value after '==', found ')'", 15),
    ("(attribute:a == b", "expected ')' to close the '(' at position 0", 17),
    ("attribute:a == b)", "unexpected ')'", 16),
    ("attribute:a == b and", "unexpected end of expression, expected a subject", 20),
    ("attribute:a == b &&", "unexpected end of expression, expected a subject", 19),
    ("attribute:a == b or or", "expected a subject, found 'or'", 20),
    ("attribute:a in b", "expected a list '[a, b, ...]' after 'in', found 'b'", 15),
    ("attribute:a in [b c]", "expected ',' or ']' to continue the list opened at position 15",
     18),
    ("attribute:a in [b,]", "expected a value after 'in', found ']'", 18),
    ("attribute:a == 'b", "unterminated quoted value", 15),
    ("attribute:a exists b", "unexpected 'b'", 19),
    ("attribute:a =~ t2.(micro)", "unexpected '('", 18),
    ("attribute:a =~ '('", "invalid regular expression '('", 15),
    ("agentConnected > 1", "operator '>' is not valid for agentConnected", 15),
    ("agentConnected == maybe", "agentConnected is true or false, got 'maybe'", 18),
    ("agentVersion in [1.0]", "operator 'in' is not valid for agentVersion", 13),
    ("agentVersion < 1.x", "agentVersion needs a version like 1.14.5, got '1.x'", 15),
    ("registeredAt < yesterday", "registeredAt needs a date like 2018-06-18", 15),
    ("registeredAt < 2018-13-45", "registeredAt needs a date", 15),
    ("runningTasksCount > many", "runningTasksCount needs a whole number, got 'many'", 20),
    ("runningTasksCount exists", "operator 'exists' is not valid for runningTasksCount", 18),
    ("ec2InstanceId > i-1", "operator '>' is not valid for ec2InstanceId", 14),
    ("task:group < x", "operator '<' is not valid for task:group", 11),
    ("runningTasksCount == 1 and not", "unexpected end of expression, expected a subject", 30),
    ("!= x", "expected a subject, found '!='", 0),
]


@pytest.mark.parametrize("expression, message, position", ERRORS,
                         ids=[e or "empty" for e, _, _ in ERRORS])
def test_parse_errors_name_the_position(expression, message, position):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(expression)
    error = caught.value
    assert message in error.message
    assert error.position == position
    assert str(error) == f"memberOf expression: {error.message} at position {position}"
    assert error.pointer().splitlines()[-1] == " " * position + "^"


def test_error_message_reads_as_documented():
    with pytest.raises(ExpressionError, match=r"^memberOf expression: unexpected 'foo' at "
                                              r"position 17$"):
        parse_expression("attribute:a == b foo")


def test_expression_length_limit():
    parse_expression("attribute:a == " + "b" * 1985)
    with pytest.raises(ExpressionError, match="longer than 2000 characters"):
        parse_expression("attribute:a == " + "b" * 1986)


# -- constraints and strategies ------------------------------------------------------------------

@pytest.mark.parametrize("kind, expression, expected", [
    ("memberOf", "attribute:ecs.instance-type =~ t2.*", "memberOf:attribute:ecs.instance-type =~ t2.*"),
    ("MEMBEROF", "runningTasksCount < 3", "memberOf:runningTasksCount < 3"),
    ("distinctInstance", "", "distinctInstance"),
    ("distinctinstance", None, "distinctInstance"),
], ids=["memberOf", "case-insensitive-type", "distinctInstance", "no-expression"])
def test_valid_constraints(kind, expression, expected):
    assert str(parse_constraint(kind, expression)) == expected


@pytest.mark.parametrize("kind, expression, field, message", [
    ("sameAs", "", "placementConstraints[0].type", "must be one of distinctInstance, memberOf"),
    ("memberOf", "", "placementConstraints[0].expression", "memberOf needs an expression"),
    ("memberOf", "  ", "placementConstraints[0].expression", "memberOf needs an expression"),
    ("distinctInstance", "task:group == a", "placementConstraints[0].expression",
     "distinctInstance takes no expression"),
    ("memberOf", "foo == 1", "placementConstraints[0].expression", "unknown subject 'foo'"),
], ids=["unknown-type", "memberOf-empty", "memberOf-blank", "distinct-with-expression",
        "bad-expression"])
def test_invalid_constraints_name_the_field(kind, expression, field, message):
    with pytest.raises(PlacementError) as caught:
        parse_constraint(kind, expression)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_constraint_expression_error_keeps_position_and_field():
    with pytest.raises(ExpressionError) as caught:
        parse_constraints([{"type": "memberOf", "expression": "attribute:a == b"},
                           {"type": "memberOf", "expression": "attribute:a == b foo"}])
    assert caught.value.field == "placementConstraints[1].expression"
    assert caught.value.position == 17


def test_constraint_lists():
    parsed = parse_constraints([{"type": "distinctInstance"},
                                {"type": "memberOf", "expression": "attribute:a exists"}])
    assert [c.type for c in parsed] == ["distinctInstance", "memberOf"]
    assert parsed[0].dynamic and not parsed[1].dynamic
    with pytest.raises(PlacementError, match="at most 10 constraints, got 11") as caught:
        parse_constraints([{"type": "distinctInstance"}] * 11)
    assert caught.value.field == "placementConstraints"
    with pytest.raises(PlacementError, match="not supported here") as caught:
        parse_constraints([{"type": "distinctInstance"}], path="taskDefinition.placementConstraints",
                          allow_distinct_instance=False)
    assert caught.value.field == "taskDefinition.placementConstraints[0].type"
    with pytest.raises(PlacementError) as caught:
        parse_constraints(["memberOf"])
    assert caught.value.field == "placementConstraints[0]"


def test_constraints_compare_by_type_and_expression():
    assert Constraint("memberOf", "attribute:a exists") == Constraint("memberOf", "attribute:a exists")
    assert len({Constraint("distinctInstance"), Constraint("distinctInstance")}) == 1


@pytest.mark.parametrize("kind, field, expected", [
    ("binpack", "memory", "binpack:memory"),
    ("binpack", "CPU", "binpack:cpu"),
    ("spread", "instanceId", "spread:instanceId"),
    ("spread", "host", "spread:instanceId"),
    ("spread", "attribute:ecs.availability-zone", "spread:attribute:ecs.availability-zone"),
    ("random", "", "random"),
    ("RANDOM", "ignored", "random"),
], ids=["binpack-memory", "binpack-cpu-case", "spread-instance", "spread-host",
        "spread-attribute", "random", "random-field-ignored"])
def test_valid_strategies(kind, field, expected):
    assert str(parse_strategy(kind, field)) == expected


@pytest.mark.parametrize("kind, field, path, message", [
    ("pack", "memory", "placementStrategy[0].type", "must be one of binpack, random, spread"),
    ("binpack", "", "placementStrategy[0].field", "binpack needs field cpu or memory"),
    ("binpack", "disk", "placementStrategy[0].field", "binpack needs field cpu or memory"),
    ("spread", "", "placementStrategy[0].field", "spread needs field instanceId, host"),
    ("spread", "zone", "placementStrategy[0].field", "spread needs field instanceId, host"),
    ("spread", "attribute:", "placementStrategy[0].field", "invalid attribute name"),
], ids=["unknown-type", "binpack-no-field", "binpack-bad-field", "spread-no-field",
        "spread-bare-name", "spread-empty-attribute"])
def test_invalid_strategies_name_the_field(kind, field, path, message):
    with pytest.raises(PlacementError) as caught:
        parse_strategy(kind, field)
    assert caught.value.field == path
    assert message in caught.value.message


def test_strategy_lists_and_text_forms():
    chain = parse_strategies([{"type": "spread", "field": "attribute:ecs.availability-zone"},
                              {"type": "binpack", "field": "memory"}])
    assert [str(s) for s in chain] == ["spread:attribute:ecs.availability-zone", "binpack:memory"]
    assert chain[0].attribute == "ecs.availability-zone" and chain[1].attribute is None
    with pytest.raises(PlacementError, match="at most 5 strategies, got 6"):
        parse_strategies([{"type": "random"}] * 6)
    with pytest.raises(PlacementError) as caught:
        parse_strategies([{"type": "random"}, {"type": "binpack", "field": "gpu"}])
    assert caught.value.field == "placementStrategy[1].field"
    assert strategy_from_text("spread:attribute:zone,binpack:memory") == (
        Strategy("spread", "attribute:zone"), Strategy("binpack", "memory"))
    assert strategy_from_text("random") == (Strategy("random"),)
    assert constraint_from_text("memberOf:attribute:zone == b") == Constraint(
        "memberOf", "attribute:zone == b")
    assert constraint_from_text("distinctInstance") == Constraint("distinctInstance")
    with pytest.raises(PlacementError) as caught:
        strategy_from_text("binpack:memory,spread:nope")
    assert caught.value.field == "strategy[1].field"
