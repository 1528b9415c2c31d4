"""The users CLI: create with the password on standard input, disable, and clear errors."""

from sqlalchemy import select

from server.models import AuditEntry, Role, User
from server.services.passwords import verify_password
from tests.server.conftest import PASSWORD


def _users(app, *args, password=PASSWORD):
    return app.test_cli_runner().invoke(args=["users", *args], input=password + "\n")


def test_create_user_with_scope_and_hashed_password(app, db_session, areas):
    result = _users(app, "create", "--username", "Sup_Yangbi", "--role", "supervisor",
                    "--area", "532922", "--area", "532931", "--password-stdin")
    assert result.exit_code == 0, result.output
    assert "supervisor 'sup_yangbi'" in result.output
    user = db_session.scalar(select(User).where(User.username == "sup_yangbi"))
    assert user.role == Role.supervisor and user.scope == ["532922", "532931"]
    assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, PASSWORD)
    assert db_session.scalar(select(AuditEntry.action).where(AuditEntry.target == "sup_yangbi")) == "user.create"


def test_create_refuses_unknown_area_weak_password_and_taken_name(app, db_session, areas):
    unknown = _users(app, "create", "--username", "enum_u1", "--role", "enumerator", "--area", "539999", "--password-stdin")
    assert unknown.exit_code == 1 and "Unknown area code(s): 539999" in unknown.output
    weak = _users(app, "create", "--username", "enum_u2", "--role", "enumerator", "--area", "532922", "--password-stdin",
                  password="password123")
    assert weak.exit_code == 1 and "weak_password" in weak.output
    assert _users(app, "create", "--username", "enum_u3", "--role", "enumerator", "--area", "532922",
                  "--password-stdin").exit_code == 0
    taken = _users(app, "create", "--username", "enum_u3", "--role", "planner", "--area", "5329", "--password-stdin")
    assert taken.exit_code == 1 and "taken" in taken.output
    assert db_session.scalars(select(User.username)).all() == ["enum_u3"]


def test_a_long_passphrase_is_accepted(app, db_session, areas):
    long_password = "苍山洱海 " * 20
    result = _users(app, "create", "--username", "enum_u4", "--role", "enumerator", "--area", "532922", "--password-stdin",
                    password=long_password)
    assert result.exit_code == 0, result.output


def test_disable_user(app, db_session, make_user):
    make_user("enum_a")
    assert _users(app, "disable", "--username", "enum_a").exit_code == 0
    assert db_session.scalar(select(User.disabled_at).where(User.username == "enum_a")) is not None
    missing = _users(app, "disable", "--username", "nobody")
    assert missing.exit_code == 1 and "No user 'nobody'" in missing.output
