"""Personal data by role: the one policy that decides which personal values a reader gets, on every path out.

The entity catalogue (survey_forms/entities) marks which properties are personal. From that:
- Supervisors and admins hold the personal-data grant (design.md): they read personal values in clear through the
  API; an ID-card number is decrypted for them, and the service that does it writes an audit row.
- Enumerators read records through the API masked; an ID-card number shows its last four characters, enough to
  check a card held in the hand. On their phones they get the properties the forms of their role pre-fill, for
  their own areas, and nothing else (phone numbers and health status only because a form pre-fills them).
- Planners get no personal value by any path: masked in records, left out of the feed and of exports.
- Exports (ExportView) carry no personal column unless a reader with the grant asks for it; each such export is
  audited by the service that makes it. Masked exports are the planners' allow-list: every property not personal.
- An ID-card number reaches no phone, not even masked: pre-filled into a field whose pattern is 18 characters, a
  masked number could only make the visit invalid, and the phone lines members up by their key instead.

History and conflicts name a member by the person's id ("members/<person id>/<property>"), never by the name and
birth year that reconciliation keys a person by when no ID number is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from core.errors import Forbidden
from core.pii import ID_CARD_PROPERTIES
from survey_forms.catalogue import load_catalogue

MASK = "***"
GRANTED = frozenset({"supervisor", "admin"})  # the personal-data grant (reliability P1: pii.read)
NO_PERSONAL_DATA = frozenset({"planner"})
ID_NUMBER_SHOWN = "(ID number)"  # what a keyed-hash token of an ID number in history or a conflict is shown as
MEMBER = "members/"


@cache
def personal() -> Mapping[str, frozenset[str]]:
    """Per entity, the names of its personal properties."""
    catalogue = load_catalogue()
    return {entity: frozenset(catalogue.personal(entity)) for entity in ("household", "person", "village")}


def is_personal(entity: str, name: str) -> bool:
    return name in personal().get(entity, frozenset())


def mask_id_card(number: str | None) -> str | None:
    """All but the last four characters hidden."""
    if not number:
        return number
    return "*" * max(0, len(number) - 4) + number[-4:]


def _unchanged(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class RecordView:
    """How one reader sees a household or village record through the API.

    `open` turns a sealed stored value into its clear text (core.pii.Protector.open_value); it is called only for a
    value the reader may see in clear.
    """

    role: str
    open: Callable[[Any], Any] = _unchanged

    @property
    def clear(self) -> bool:
        return self.role in GRANTED

    def value(self, entity: str, name: str, value: Any) -> Any:
        """A property's value as this reader sees it."""
        if isinstance(value, str) and value.startswith("hash:"):
            return ID_NUMBER_SHOWN  # an ID number's keyed hash: never shown, not even to the grant
        if value is None or not is_personal(entity, name):
            return self.open(value)
        if self.clear:
            return self.open(value)
        return self.id_card(value) if f"{entity}.{name}" in ID_CARD_PROPERTIES else _masked(value)

    def id_card(self, number: str | None) -> str | None:
        """A decrypted ID-card number as this reader sees it."""
        if number is None or self.clear:
            return number
        return MASK if self.role in NO_PERSONAL_DATA else mask_id_card(number)

    def properties(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.value(entity, name, value) for name, value in values.items()}

    def text(self, value: str | None) -> str | None:
        """Free text people wrote about a household (a review's minutes, a step's comment, the cadre responsible
        for a measure): it can name anyone, so only the grant reads it."""
        return value if value is None or self.clear else MASK

    def change(self, entity: str, name: str, value: Any) -> Any:
        """A value of a history entry or conflict, whose name may be a member's "members/<key>/<property>"."""
        if name.startswith(MEMBER):
            return self.value("person", name.rpartition("/")[2], value)
        return self.value(entity, name, value)


def _masked(value: Any) -> Any:
    # A masked text keeps its place; a date or number masked as text would change the field's type, so it goes.
    return MASK if isinstance(value, str) else None


@dataclass(frozen=True)
class ExportView:
    """Which columns one export carries.

    A masked export leaves personal columns out rather than filling them with `***`: a GIS layer or a sheet with a
    column of masks only invites a join on something else. `unmasked` is refused below the grant.
    """

    role: str
    unmasked: bool = False

    def __post_init__(self) -> None:
        if self.unmasked and self.role not in GRANTED:
            raise Forbidden("Only a supervisor or an administrator may export personal data unmasked. "
                            "只有督导员或管理员可以导出未脱敏的个人信息。",
                            code="personal_data_not_granted")

    def carries(self, entity: str, name: str) -> bool:
        return self.unmasked or not is_personal(entity, name)

    @property
    def carries_text(self) -> bool:
        """Free text people wrote about a household (as RecordView.text): only unmasked."""
        return self.unmasked


@dataclass(frozen=True)
class DeviceView:
    """What one reader's phone receives in the pull feed: what the forms of the reader's role pre-fill."""

    role: str
    prefilled: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per entity, from the role's published forms
    open: Callable[[Any], Any] = _unchanged

    def allows(self, entity: str, name: str) -> bool:
        if f"{entity}.{name}" in ID_CARD_PROPERTIES:
            return False
        if self.role in NO_PERSONAL_DATA and is_personal(entity, name):
            return False
        return name in self.prefilled.get(entity, frozenset())

    def properties(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Only the allowed properties, in name order, opened for the phone that pre-fills them."""
        return {name: self.open(values[name]) for name in sorted(values) if self.allows(entity, name)}

    def fixed(self, entity: str, name: str, value: Any) -> Any:
        """One of the fields every change of its kind carries (protocol.md: a household's head's name, monitoring
        category): a personal one only as a pre-filled property would be, any other as it is; else None."""
        if f"{entity}.{name}" in ID_CARD_PROPERTIES or (is_personal(entity, name) and not self.allows(entity, name)):
            return None
        return self.open(value)
