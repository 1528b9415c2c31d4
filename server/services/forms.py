"""Publishing form versions (immutable once published) and reading them back for devices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import FormVersionChanged, NotFound
from server.models import AuditOutcome, FormVersion, Role
from server.services import audit
from survey_forms.definition import FormDefinition


@dataclass
class PublishReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Published {len(self.published)} new form version(s); {len(self.unchanged)} already published."]
        lines += [f"  new:       {name}" for name in self.published]
        lines += [f"  unchanged: {name}" for name in self.unchanged]
        return "\n".join(lines)


def publish(session: Session, definitions: Sequence[FormDefinition], *, actor: str) -> PublishReport:
    """Stores every definition not yet published; the same content again is a harmless no-op.

    Raises:
        FormVersionChanged: a version already published has different content (all such are named).
    """
    report = PublishReport()
    changed = []
    for definition in definitions:
        label = f"{definition.form_id} v{definition.version}"
        stored = session.get(FormVersion, (definition.form_id, definition.version))
        if stored is None:
            session.add(_row(definition, actor))
            audit.record(session, "form.publish", AuditOutcome.success, actor=actor, target=label,
                         details={"sha256": definition.sha256})
            report.published.append(label)
        elif stored.sha256 == definition.sha256:
            report.unchanged.append(label)
        else:
            changed.append(f"{label} (published sha256 {stored.sha256[:12]}…, file {definition.sha256[:12]}…)")
    if changed:
        raise FormVersionChanged(
            "A published form version never changes. Give the changed file the next version number "
            "(a new definitions/<form_id>/v<N+1>.json) and publish again. Changed: " + "; ".join(changed),
            details={"changed": changed},
        )
    session.flush()
    return report


def _row(definition: FormDefinition, actor: str) -> FormVersion:
    return FormVersion(
        form_id=definition.form_id, version=definition.version, subject=definition.subject,
        roles=list(definition.roles), title_zh=definition.title["zh"], title_en=definition.title["en"],
        content=definition.content, sha256=definition.sha256, definition=definition.document, published_by=actor,
    )


def forms_for_role(session: Session, role: Role) -> list[FormVersion]:
    """Every published version of the forms this role uses, by form and version."""
    query = (select(FormVersion).where(FormVersion.roles.any(role.value))
             .order_by(FormVersion.form_id, FormVersion.version))
    return list(session.scalars(query))


def form_version(session: Session, role: Role, form_id: str, version: int) -> FormVersion:
    """Raises:
    NotFound: no such version, or not a form this role uses (the same answer for both).
    """
    row = session.scalar(select(FormVersion).where(FormVersion.form_id == form_id, FormVersion.version == version,
                                                   FormVersion.roles.any(role.value)))
    if row is None:
        raise NotFound(f"No published form {form_id} version {version} for your role.")
    return row
