"""The FAKE driver: a simulated IOx host for development, demos and tests.

Conventions a pod can use (documented in examples/fake.yaml too):

- image ``fake/crash:<code>``: the container exits with ``<code>`` one second after it starts;
- env ``FAKE_EXIT_CODE=<code>``: same, for any image; ``FAKE_EXIT_AFTER=<seconds>`` sets when
  (alone it makes a job that exits 0 after that many seconds);
- restarts then follow ``restartPolicy`` with exponential back-off (``fake.restartBackoffSeconds``).

Faults (``faults`` section of the state file, or ``FakeDriver.set_faults`` / ``update_faults``):
``unreachable``, ``authFailure``, ``latencySeconds``, ``failInstalls``, ``busy``.
"""

from cvk.driver.fake.driver import FakeDriver, state_file_of
from cvk.driver.fake.faults import Faults
from cvk.driver.fake.store import default_state_file, update_faults

__all__ = ["FakeDriver", "Faults", "default_state_file", "state_file_of", "update_faults"]
