"""Which role may do what: the one map every endpoint and service asks, beside the roles themselves."""

from __future__ import annotations

from enum import StrEnum

from server.models.users import Role


class Action(StrEnum):
    push_submissions = "push_submissions"  # a device's push, and the photos it declared
    read_households = "read_households"  # households and villages of the caller's areas, masked by role
    move_monitoring_case = "move_monitoring_case"  # a step of domain.md 3.13 (the county's also needs county scope)
    resolve_conflicts = "resolve_conflicts"
    review_submissions = "review_submissions"
    assign_work = "assign_work"
    be_assigned = "be_assigned"
    set_parameters = "set_parameters"  # the yearly monitoring lines
    export_data = "export_data"  # layers out of the server: export files and the OGC API – Features endpoint


_FIELD = frozenset({Role.enumerator, Role.supervisor, Role.admin})
_SUPERVISING = frozenset({Role.supervisor, Role.admin})

MAY: dict[Action, frozenset[Role]] = {
    Action.push_submissions: _FIELD,
    Action.read_households: frozenset(Role),
    # Supervisors confirm what the phones and the rules only propose.
    Action.move_monitoring_case: _SUPERVISING,
    Action.resolve_conflicts: _SUPERVISING,
    Action.review_submissions: _SUPERVISING,
    Action.assign_work: _SUPERVISING,
    Action.be_assigned: frozenset({Role.enumerator, Role.supervisor}),
    Action.set_parameters: frozenset({Role.admin}),
    # Planners are who exports are for (design.md); enumerators take data to the field on their phones, not out.
    Action.export_data: frozenset({Role.planner, Role.supervisor, Role.admin}),
}


def may(role: Role, action: Action) -> bool:
    return role in MAY[action]
