"""A shim between schemathesis 4.32.5 and pytest 9.2; drop it once schemathesis no longer reads Node._nodeid."""

import pytest


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis.pytest.from_fixture reads and renames request.node._nodeid (only for its report titles);
    # pytest 9.2 replaced that attribute with a structured id (pytest-dev/pytest#14758), so the read fails.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
