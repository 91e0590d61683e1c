"""The schema model: each Table Schema field as a typed `Field`, read once by the reader.

Checks, rules, the loader, the build, citations, `new` and the site all ask a `Field` what a
column is (its type, whether it is required, its allowed values, its pattern, its
description) instead of walking the JSON themselves, so a schema says a thing once and every
module hears it the same way. A date's precision companion is declared in the schema (the
field property `precision` names the column that holds it), not guessed from a suffix.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    title: str = ""
    description: str = ""
    constraints: dict = field(default_factory=dict, compare=False, repr=False)
    precision: str | None = None  # the column holding this date's precision (day, month, year)
    ordered: bool = False  # an enum whose values are in order (x-ordered)

    @classmethod
    def from_descriptor(cls, descriptor: dict) -> "Field":
        return cls(name=descriptor["name"], type=descriptor.get("type", "string"), title=descriptor.get("title", ""),
                   description=descriptor.get("description", ""), constraints=dict(descriptor.get("constraints", {})),
                   precision=descriptor.get("precision"), ordered=bool(descriptor.get("x-ordered", False)))

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    @property
    def unique(self) -> bool:
        return bool(self.constraints.get("unique"))

    @property
    def enum(self) -> list[str] | None:
        """The allowed values, as text (None when any value of the type is allowed)."""
        values = self.constraints.get("enum")
        return [str(v) for v in values] if values is not None else None

    @property
    def pattern(self) -> str | None:
        return self.constraints.get("pattern")


def fields_of(schema: dict) -> dict[str, Field]:
    """The fields of a Table Schema descriptor, by name, in their order."""
    return {f["name"]: Field.from_descriptor(f) for f in schema.get("fields", [])}
