"""The ``cisco-vk`` command line: ``run`` (one device as one node), ``version``, and subcommands
other packages register (``controller``).

Configuration problems (device file, flags, kubeconfig) print one line on stderr,
``error: <field>: <what is wrong and how to fix it>``, and exit with code 2 before anything starts.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import logging
import os
import platform
import re
import signal
import sys
from typing import Any, NoReturn

import click
import yaml

from cvk import __version__
from cvk.config.loader import load_device_file
from cvk.config.logsetup import FORMATS, LEVELS, setup_logging
from cvk.config.names import default_node_name, dns_subdomain_problem
from cvk.config.schema import fields_of
from cvk.config.spec import DeviceSpec
from cvk.driver.factory import check_driver
from cvk.errors import ConfigError, CvkError
from cvk.options import RunOptions

log = logging.getLogger("cvk.cli")

DEFAULT_CONFIG = "/etc/virtual-kubelet/config.yaml"
EXIT_CONFIG = 2
EXIT_FAILURE = 1

# Subcommands living in other packages, imported only when used: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {"controller": "controller.cli:controller_command"}


class CvkGroup(click.Group):
    """A click group whose extra subcommands are imported on first use, and whose usage errors (its
    own and every subcommand's) are one ``error:`` line with exit code 2."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            fail(*flag_error(err))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            fail(*flag_error(err))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in LAZY_COMMANDS:
            return command
        module_name, attr = LAZY_COMMANDS[cmd_name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            return _unavailable(cmd_name, str(err))
        loaded = getattr(module, attr)
        assert isinstance(loaded, click.Command)
        return loaded


def _unavailable(name: str, reason: str) -> click.Command:
    """A placeholder that keeps ``--help`` working and explains why the command cannot run."""

    def callback() -> None:
        raise click.ClickException(f"the {name} command is not available in this installation: {reason}")

    return click.Command(name, callback=callback, help=f"(not available: {reason})",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def fail(field: str, message: str) -> NoReturn:
    """Print one ``error:`` line and exit 2 (a configuration problem)."""
    click.echo(f"error: {field}: {message}" if field else f"error: {message}", err=True)
    sys.exit(EXIT_CONFIG)


def flag_error(err: click.UsageError) -> tuple[str, str]:
    """``(flag, message)`` for a click usage error, in the words of ``fail``; a value that came from
    an environment variable names the variable (in a pod nobody typed the flag)."""
    names: list[str] = []
    ctx = err.ctx
    while ctx is not None and ctx.parent is not None:  # the root's name is whatever argv[0] was
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    see = f"see {' '.join(['cisco-vk', *names])} --help"
    if isinstance(err, click.NoSuchOption):
        close = f" (did you mean {' or '.join(err.possibilities)}?)" if err.possibilities else ""
        return err.option_name, f"no such option{close}; {see}"
    if isinstance(err, click.BadOptionUsage):
        message = err.message.removeprefix(f"Option '{err.option_name}' ").rstrip(".")
        return err.option_name, f"{message}; {see}"
    if isinstance(err, click.BadParameter) and isinstance(err.param, click.Option):
        param = err.param
        flag = max(param.opts, key=len)
        message = err.message.rstrip(".")
        source = err.ctx.get_parameter_source(param.name) if err.ctx is not None and param.name else None
        if source == click.core.ParameterSource.ENVIRONMENT and isinstance(param.envvar, str):
            message += f" (from env {param.envvar}; fix or unset it)"
        return flag, f"{message}; {see}"
    message = err.message.rstrip(".")
    if isinstance(err, click.BadParameter) and isinstance(err.param_hint, str):
        return err.param_hint, f"{message}; {see}"
    return "", f"{message[:1].lower()}{message[1:]}; {see}"


@click.group(cls=CvkGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cisco-vk", message="%(prog)s %(version)s")
def main() -> None:
    """cisco-vk: Cisco IOS-XE devices as Kubernetes nodes.

    Each device becomes a node; pods scheduled to it run as IOx App-Hosting apps.
    """


@main.command()
def version() -> None:
    """Print the cisco-vk version."""
    click.echo(f"cisco-vk {__version__} (python {platform.python_version()}, {sys.platform})")


def file_field(field: str, config_path: str) -> str:
    """``field`` as the device file spells it. The driver factory and the drivers name spec fields
    ``device.x`` or just ``x``; a CiscoDevice manifest calls them ``spec.x``. Other fields (flags,
    environment variables, ``kubeconfig``) are left as they are."""
    head = re.split(r"[.\[]", field, maxsplit=1)[0]
    if head not in ("device", "spec") and head not in fields_of(DeviceSpec):
        return field
    try:
        with open(config_path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return field
    root = "device" if isinstance(doc, dict) and "device" in doc else "spec"
    if head in ("device", "spec"):
        return root + field[len(head):]
    return f"{root}.{field}"


def resolve_node_name(flag_or_env: str | None, spec: DeviceSpec) -> str:
    """--nodename > VKUBELET_NODE_NAME (both arrive as ``flag_or_env``) > spec.nodeName >
    ``cisco-vk-<address>`` sanitised to a valid node name."""
    if flag_or_env:
        problem = dns_subdomain_problem(flag_or_env, 63)
        if problem:
            fail("--nodename", f"{problem} (from --nodename or VKUBELET_NODE_NAME)")
        return flag_or_env
    if spec.node_name:
        return spec.node_name
    return default_node_name(spec.address)


def resolve_log_level(flag_or_env: str | None, spec: DeviceSpec) -> str:
    """--log-level > LOG_LEVEL > spec.logLevel; ``warning`` is accepted for ``warn``."""
    level = (flag_or_env or str(spec.log_level)).lower()
    return "warn" if level == "warning" else level


@main.command()
@click.option("-c", "--config", "config_path", default=DEFAULT_CONFIG, show_default=True, metavar="FILE",
              help="Device file: `device: <CiscoDevice spec>` or a whole CiscoDevice manifest.")
@click.option("--kubeconfig", default=None, metavar="FILE",
              help="Kubeconfig; default: KUBECONFIG (lists too), ~/.kube/config, then in-cluster.")
@click.option("--nodename", envvar="VKUBELET_NODE_NAME", default=None, metavar="NAME",
              help="Node name [env VKUBELET_NODE_NAME; default: spec nodeName, else cisco-vk-<address>].")
@click.option("--log-level", envvar="LOG_LEVEL", default=None,
              type=click.Choice(sorted(LEVELS), case_sensitive=False),
              help="Log level [env LOG_LEVEL; default: spec logLevel, else info].")
@click.option("--log-format", envvar="CVK_LOG_FORMAT", default="text", show_default=True,
              type=click.Choice(FORMATS), help="Log lines as key=value text or JSON [env CVK_LOG_FORMAT].")
@click.option("--kubelet-port", default=10250, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the kubelet HTTPS API (0: any free port).")
@click.option("--kubelet-address", default="0.0.0.0", show_default=True, metavar="IP",
              help="Address the kubelet HTTPS API listens on.")
@click.option("--node-ip", default=None, metavar="IP",
              help="Node InternalIP other components use to reach the kubelet API; default: detected.")
@click.option("--tls-cert-file", default=None, metavar="FILE",
              help="Serving certificate of the kubelet API; default: self-signed for the node's addresses.")
@click.option("--tls-key-file", default=None, metavar="FILE", help="Key of --tls-cert-file.")
@click.option("--client-ca-file", default=None, metavar="FILE",
              help="CA bundle that authenticates client certificates at the kubelet API "
                   "(default: the cluster CA of the kubeconfig or service account).")
@click.option("--anonymous-auth/--no-anonymous-auth", default=False, show_default=True,
              help="Let unauthenticated requests reach the kubelet API as system:anonymous.")
@click.option("--authentication-token-webhook/--no-authentication-token-webhook", default=True,
              show_default=True, help="Authenticate bearer tokens with TokenReview.")
@click.option("--authorization-webhook/--no-authorization-webhook", default=True, show_default=True,
              help="Authorize each kubelet API request with SubjectAccessReview.")
def run(config_path: str, kubeconfig: str | None, nodename: str | None, log_level: str | None,
        log_format: str, kubelet_port: int, kubelet_address: str, node_ip: str | None,
        tls_cert_file: str | None, tls_key_file: str | None, client_ca_file: str | None,
        anonymous_auth: bool, authentication_token_webhook: bool, authorization_webhook: bool) -> None:
    """Run one device as a Kubernetes node until SIGTERM or SIGINT."""
    if (tls_cert_file is None) != (tls_key_file is None):
        missing = "--tls-key-file" if tls_key_file is None else "--tls-cert-file"
        fail(missing, "--tls-cert-file and --tls-key-file must be given together")
    for flag, ip in (("--kubelet-address", kubelet_address), ("--node-ip", node_ip)):
        if ip is not None:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                fail(flag, f"{ip!r} is not an IP address")
    for flag, path in (("--tls-cert-file", tls_cert_file), ("--tls-key-file", tls_key_file),
                       ("--client-ca-file", client_ca_file)):
        if path is not None and not os.path.isfile(path):
            fail(flag, f"{path}: no such file")
    try:
        spec = load_device_file(config_path)
    except ConfigError as err:
        fail(err.field, err.message)
    try:
        check_driver(spec)
    except ConfigError as err:
        fail(file_field(err.field, config_path), err.message)
    level = resolve_log_level(log_level, spec)
    setup_logging(level, log_format)
    opts = RunOptions(
        node_name=resolve_node_name(nodename, spec), kubeconfig=kubeconfig, log_level=level,
        kubelet_port=kubelet_port, kubelet_address=kubelet_address, node_ip=node_ip,
        tls_cert_file=tls_cert_file, tls_key_file=tls_key_file, client_ca_file=client_ca_file,
        anonymous_auth=anonymous_auth, authentication_token_webhook=authentication_token_webhook,
        authorization_webhook=authorization_webhook,
    )
    log.info("starting cisco-vk", extra={"version": __version__, "node": opts.node_name,
                                         "driver": str(spec.driver), "address": spec.address,
                                         "config": config_path})
    try:
        asyncio.run(_serve(spec, opts))
    except ConfigError as err:
        fail(file_field(err.field, config_path), err.message)
    except KeyboardInterrupt:  # pragma: no cover - SIGINT arrives through the handler normally
        pass
    except CvkError as err:
        log.error("cisco-vk failed", extra={"error": str(err), "kind": type(err).__name__})
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_FAILURE)
    except OSError as err:  # e.g. the kubelet port is taken
        log.error("cisco-vk failed", extra={"error": str(err)})
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_FAILURE)
    log.info("cisco-vk stopped", extra={"node": opts.node_name})


async def _serve(spec: DeviceSpec, opts: RunOptions) -> None:
    from cvk import daemon  # imported here: `cisco-vk --help` and `version` stay fast and light

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        log.info("signal received, stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await daemon.run(spec, opts, stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


if __name__ == "__main__":  # pragma: no cover
    main()
