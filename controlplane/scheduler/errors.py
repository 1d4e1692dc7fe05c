"""The scheduler's one error hierarchy: bad placement input, rejected before anything changes.

    ValueError
    └── PlacementError          a constraint or strategy is invalid; `.field` names the ECS field
        └── ExpressionError     a memberOf expression does not parse; `.position` is the column

Placement failures are not errors: a task that fits nowhere is a `Rejection` in the `Plan`.
The service layer translates these to its InvalidParameter (field, message) at the edge.
"""

from __future__ import annotations

__all__ = ["ExpressionError", "PlacementError"]


class PlacementError(ValueError):
    """Invalid placement input; `field` is the ECS field path (``placementStrategy[1].field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    @property
    def detail(self) -> str:
        """The message for an error reported under `field` (with the column, for expressions)."""
        return self.message


class ExpressionError(PlacementError):
    """A cluster query language expression that does not parse or type-check.

    `position` is the 0-based column (character offset) in `expression` where the problem
    starts; ``str(error)`` reads ``memberOf expression: unexpected 'foo' at position 17``.
    """

    def __init__(self, message: str, position: int, expression: str = "",
                 field: str = "expression") -> None:
        ValueError.__init__(self, f"memberOf expression: {message} at position {position}")
        self.field = field
        self.message = message
        self.position = position
        self.expression = expression

    @property
    def detail(self) -> str:
        return f"{self.message} at position {self.position}"

    def pointer(self) -> str:
        """The expression and a caret under the offending column, for a terminal."""
        return f"{self.expression}\n{' ' * self.position}^"
