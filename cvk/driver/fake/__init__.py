"""The FAKE driver: a simulated IOx host for development, demos and tests.

Conventions a pod can use (documented in examples/fake.yaml too):

- image ``fake/crash:<code>``: the container exits with ``<code>`` one second after it starts;
- env ``FAKE_EXIT_CODE=<code>``: same, for any image; ``FAKE_EXIT_AFTER=<seconds>`` sets when
  (alone it makes a job that exits 0 after that many seconds);
- restarts then follow ``restartPolicy`` with exponential back-off (``fake.restartBackoffSeconds``);
- ``kubectl exec``: echo, env, printenv, hostname, cat FILE (/etc/hostname, /etc/hosts,
  /proc/self/environ), cat (copies stdin), true, false, exit N, ``sh -c '<one of these>'``;
- ``kubectl port-forward``: a declared containerPort answers HTTP with a short page, echoes
  anything else; other ports refuse the connection.

The device outlives cisco-vk: its state file (``fake.stateFile``, default
``$XDG_STATE_HOME/cisco-vk/fake-<address>.json``) keeps the apps, and their timeline catches up
when cisco-vk comes back. Several processes may share one state file (a test flipping faults, two
cisco-vk instances): every change is written at once under a lock, and picked up by the others.

Faults (``faults`` section of the state file, ``FakeDriver.set_faults`` / ``update_faults``, or
``python -m cvk.driver.fake STATE_FILE unreachable=true``): ``unreachable``, ``authFailure``,
``latencySeconds``, ``failInstalls``, ``busy``.
"""

from cvk.driver.fake.driver import FakeDriver, state_file_of
from cvk.driver.fake.faults import Faults
from cvk.driver.fake.store import default_state_file, update_faults

__all__ = ["FakeDriver", "Faults", "default_state_file", "state_file_of", "update_faults"]
