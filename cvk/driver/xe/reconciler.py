"""The per-container state machine: observe, then decide at most one step toward the desired state.

``decide`` is pure: it gets what one device read showed for the app and returns one action. The
driver runs it once per pass and per container, executes the action, and looks again on the next
pass. Rules that keep it safe:

- an unreadable device or a state we do not know means WAIT, never "the app is absent";
- creation is idempotent: whatever the device shows (nothing, config only, INSTALLING, DEPLOYED,
  ACTIVATED, RUNNING) leads to the next step, so a restarted cisco-vk resumes where it was;
- deletion walks back the same ladder (stop, deactivate, uninstall, delete config) and deletes the
  config only once the device shows no app state any more.
"""

from __future__ import annotations

import dataclasses
import enum

from cvk.driver.xe.oper import ACTIVATED, DEPLOYED, ERROR, EXITED, RUNNING, STOPPED


class Desired(enum.Enum):
    RUNNING = "Running"
    DELETED = "Deleted"
    UNINSTALLED = "Uninstalled"  # replace: uninstall (keeping the config), then install again


class Action(enum.Enum):
    NONE = "none"  # steady: nothing to do
    WAIT = "wait"  # not now: look again next pass
    CONFIGURE = "configure"
    INSTALL = "install"
    ACTIVATE = "activate"
    START = "start"
    RESTART = "restart"  # run again after the app exited (restartPolicy): start, or deactivate from ERROR
    STOP = "stop"
    DEACTIVATE = "deactivate"
    UNINSTALL = "uninstall"
    UNCONFIGURE = "unconfigure"
    DONE = "done"  # nothing of the app is left on the device


@dataclasses.dataclass(frozen=True)
class Observation:
    readable: bool
    configured: bool = False
    config_current: bool = True  # the device's config equals what we would send
    state: str | None = None  # details/state; None: no oper entry for the app


@dataclasses.dataclass(frozen=True)
class Context:
    install_in_flight: bool = False  # our install RPC for this app is still being digested
    should_restart: bool = False  # restartPolicy says a stopped app runs again
    restart_due: bool = False  # its restart backoff has elapsed


def decide(desired: Desired, obs: Observation, ctx: Context = Context()) -> Action:
    if not obs.readable:
        return Action.WAIT
    state = obs.state
    if desired is Desired.RUNNING:
        if state is None:
            if not obs.configured or not obs.config_current:
                return Action.CONFIGURE
            return Action.WAIT if ctx.install_in_flight else Action.INSTALL
        if not obs.configured:
            # The app is installed but its config is gone (someone removed it): put it back.
            return Action.CONFIGURE
        if state == RUNNING:
            return Action.NONE
        if state == ACTIVATED:
            return Action.START
        if state == DEPLOYED:
            return Action.ACTIVATE
        if state in EXITED:
            if not ctx.should_restart:
                return Action.NONE
            return Action.RESTART if ctx.restart_due else Action.WAIT
        return Action.WAIT  # INSTALLING, ERROR, anything unknown
    # Walking back: DELETED removes everything, UNINSTALLED keeps the config.
    if state == RUNNING:
        return Action.STOP
    if state in (ACTIVATED, STOPPED, ERROR):
        return Action.DEACTIVATE
    if state == DEPLOYED:
        return Action.UNINSTALL
    if state is None:
        if desired is Desired.DELETED and obs.configured:
            return Action.UNCONFIGURE
        return Action.DONE
    return Action.WAIT  # INSTALLING, ERROR, anything unknown: never assume it is gone
