"""Database models: a leaf package that imports only SQLAlchemy and GeoAlchemy2."""

from server.models.areas import Area, AreaLevel
from server.models.assignments import Assignment, AssignmentState
from server.models.attachments import Attachment
from server.models.audit import AuditEntry, AuditOutcome
from server.models.base import Base
from server.models.changes import SyncChange, Xid8
from server.models.exports import ExportJob, ExportState
from server.models.flags import Flag
from server.models.forms import FormVersion
from server.models.history import ConflictResolution, EntityConflict, EntityVersion
from server.models.households import Household, Person
from server.models.monitoring import (
    OPEN_STATES,
    AssistanceMeasure,
    CaseStep,
    MeasureStatus,
    MonitoringCase,
    MonitoringEvent,
    MonitoringState,
)
from server.models.parameters import CODE_LENGTHS as PARAMETER_AREA_LENGTHS
from server.models.parameters import FIRST_YEAR, LAST_YEAR
from server.models.parameters import YearlyParameter as YearlyParameter
from server.models.permissions import Action, may
from server.models.reviews import ReviewDecision, ReviewState, SubmissionReview
from server.models.sessions import SessionEndReason, WebSession
from server.models.submissions import Submission, SubmissionConflict, SubmissionState
from server.models.users import DeviceToken, Role, User, UserArea
from server.models.villages import Village

PARAMETER_YEARS = (FIRST_YEAR, LAST_YEAR)  # the years a yearly parameter can be set for

__all__ = [
    "Action",
    "may",
    "Area",
    "AssistanceMeasure",
    "AreaLevel",
    "Assignment",
    "AssignmentState",
    "Attachment",
    "AuditEntry",
    "AuditOutcome",
    "Base",
    "ConflictResolution",
    "DeviceToken",
    "EntityConflict",
    "EntityVersion",
    "ExportJob",
    "ExportState",
    "Flag",
    "FormVersion",
    "Household",
    "MonitoringCase",
    "MonitoringEvent",
    "MonitoringState",
    "CaseStep",
    "MeasureStatus",
    "OPEN_STATES",
    "PARAMETER_AREA_LENGTHS",
    "PARAMETER_YEARS",
    "Person",
    "ReviewDecision",
    "ReviewState",
    "Role",
    "SessionEndReason",
    "Submission",
    "SubmissionConflict",
    "SubmissionReview",
    "SubmissionState",
    "SyncChange",
    "User",
    "UserArea",
    "Village",
    "WebSession",
    "Xid8",
]
