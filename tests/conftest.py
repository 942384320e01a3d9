"""Suite-wide guard: no rulekit process started by any test may take the internal-error path.

Every rulekit CLI process (in-process CliRunner or a subprocess, foreground or background)
appends its traceback to $RULEKIT_INTERNAL_ERROR_LOG when it would print "internal error in
rulekit" (rulekit.ui.clisupport._record_internal_error). The variable is set once for the session, so
child processes inherit it; after each test the log must not have grown. Tests that provoke
an internal error on purpose carry `@pytest.mark.internal_error_expected`.
"""

import os
import tempfile
from pathlib import Path

import pytest

_LOG = Path(tempfile.mkdtemp(prefix="rulekit-tests-")) / "internal-errors.log"
_LOG.touch()
os.environ["RULEKIT_INTERNAL_ERROR_LOG"] = str(_LOG)


@pytest.fixture(autouse=True)
def no_internal_error(request):
    os.environ["RULEKIT_INTERNAL_ERROR_LOG"] = str(_LOG)   # a test may have cleared env vars
    before = _LOG.stat().st_size
    yield
    with _LOG.open(encoding="utf-8") as fh:
        fh.seek(before)
        new = fh.read()
    if new and request.node.get_closest_marker("internal_error_expected") is None:
        pytest.fail("a rulekit process printed 'internal error in rulekit':\n" + new,
                    pytrace=False)
