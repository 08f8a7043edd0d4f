"""The README, docs/, examples/ and the Helm chart tell the truth about the code.

Each test reads what the documentation states (a command and its flags, an environment variable, a
link, a field, an example) and checks it against the code that implements it, so a renamed flag or a
field that goes away breaks the build instead of the operator's first attempt.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from controller import crd
from cvk.cli import main
from cvk.config.loader import document_to_spec, parse_device_spec
from cvk.config.schema import fields_of
from cvk.config.spec import DeviceSpec
from hack.kubeapi.schema import validate_and_default

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CONFIG_DOC = ROOT / "docs" / "configuration.md"
SOURCES = ("cvk", "controller", "hack", "proto")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _command(*names: str) -> click.Command:
    ctx = click.Context(main)
    command: click.Command = main
    for name in names:
        assert isinstance(command, click.Group)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"cisco-vk has no subcommand {name!r}"
        command = sub
    return command


def _flags(command: click.Command) -> set[str]:
    out: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option):
            out.update(param.opts)
            out.update(param.secondary_opts)
    return out | {"--help", "-h"}


def _snippets(text: str) -> list[str]:
    """Inline code spans and fenced code blocks (continuation lines joined)."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    rest = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", rest)
    lines: list[str] = []
    for block in blocks:
        lines.extend(block.replace("\\\n", " ").splitlines())
    return lines + spans


# ---- commands and flags ---------------------------------------------------------------------------

_CVK_CALL = re.compile(r"\bcisco-vk\s+(run|controller|version)\b([^|;&]*)")


def _cvk_calls() -> list[tuple[str, str, str]]:
    calls = []
    for page in PAGES:
        for snippet in _snippets(_text(page)):
            for sub, rest in _CVK_CALL.findall(snippet):
                calls.append((page.name, sub, rest))
    return calls


def test_docs_show_cisco_vk_calls() -> None:
    subs = {sub for _, sub, _ in _cvk_calls()}
    assert {"run", "controller"} <= subs


@pytest.mark.parametrize(("page", "sub", "rest"), _cvk_calls())
def test_every_cisco_vk_flag_in_the_docs_exists(page: str, sub: str, rest: str) -> None:
    known = _flags(_command(sub))
    for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest):
        assert flag in known, f"{page}: `cisco-vk {sub} {flag}` is documented but `cisco-vk {sub} --help` has no {flag}"


_MODULE_CALL = re.compile(r"python -m (hack(?:\.\w+)+)(.*)")


def _module_calls() -> list[tuple[str, str, list[str]]]:
    calls: dict[tuple[str, str], list[str]] = {}
    for page in PAGES:
        for snippet in _snippets(_text(page)):
            for module, rest in _MODULE_CALL.findall(snippet):
                if module == "hack.gen_manifests":
                    continue
                flags = calls.setdefault((page.name, module), [])
                flags.extend(f for f in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest) if f not in flags)
    return [(page, module, flags) for (page, module), flags in calls.items() if flags]


def test_docs_show_the_tool_calls() -> None:
    modules = {module for _, module, _ in _module_calls()}
    assert {"hack.kubeapi", "hack.iosxe_sim"} <= modules


@pytest.mark.parametrize(("page", "module", "flags"), _module_calls(),
                         ids=[f"{p}:{m}" for p, m, _ in _module_calls()])
def test_every_tool_flag_in_the_docs_exists(page: str, module: str, flags: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    missing = [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", out.stdout)]
    assert not missing, f"{page}: `python -m {module}` documents {missing}, which its --help does not list"


def test_readme_promises_help_for_every_command() -> None:
    text = _text(README)
    for call in ("cisco-vk --help", "cisco-vk run --help", "cisco-vk controller --help"):
        assert call in text
        result = CliRunner().invoke(main, call.split()[1:])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_every_run_flag_has_help_text() -> None:
    """`--help lists every flag`: a flag without a sentence tells the operator nothing."""
    bare = [p.opts[0] for p in _command("run").params
            if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not bare, f"cisco-vk run: flags without help text: {bare}"


def test_env_vars_named_in_run_help_are_the_ones_read() -> None:
    for param in _command("run").params:
        if not isinstance(param, click.Option):
            continue
        named = set(re.findall(r"env ([A-Z][A-Z0-9_]+)", param.help or ""))
        envvar = param.envvar if isinstance(param.envvar, str) else None
        assert named == ({envvar} if envvar else set()), f"{param.opts[0]}: help names {named}, reads {envvar}"


# ---- environment variables ------------------------------------------------------------------------

def _source_text() -> str:
    parts = [_text(ROOT / "Makefile")]
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".proto") and "gen" not in path.parts:
                parts.append(_text(path))
    return "\n".join(parts)


def _env_vars(page: Path) -> set[str]:
    return set(re.findall(r"`(?:env )?([A-Z][A-Z0-9]*_[A-Z0-9_]+)(?:=[^`]*)?`", _text(page)))


def test_every_env_var_in_the_docs_is_read_by_the_code() -> None:
    assert {"CVK_DEVICE_PASSWORD", "CVK_DEVICE_PASSWORD_FILE", "DEMO_ONCE"} <= _env_vars(README)
    source = _source_text()
    for page in PAGES:
        for name in sorted(_env_vars(page)):
            assert re.search(rf"\b{name}\b", source), f"{page.name} names {name}, which no code reads"


# ---- links and paths ------------------------------------------------------------------------------

def test_relative_links_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _text(page)):
            if re.match(r"[a-z]+:", target):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_readme_folder_table_names_existing_folders() -> None:
    folders = re.findall(r"^\| `([\w./-]+/)` \|", _text(README), flags=re.M)
    assert len(folders) >= 8
    for folder in folders:
        assert (ROOT / folder).is_dir(), f"README's folder table lists {folder}, which does not exist"


def test_readme_local_run_uses_an_existing_example() -> None:
    paths = re.findall(r"cisco-vk run --config (examples/[\w.-]+)", _text(README))
    assert paths
    for path in paths:
        assert (ROOT / path).is_file(), path


# ---- examples and the configuration reference -----------------------------------------------------

def _documented_fields() -> set[str]:
    return set(re.findall(r"^\| `([\w.\[\]]+)` \|", _text(CONFIG_DOC), flags=re.M))


def _paths(data: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.append(path)
            if not path.endswith(("labels", "others")):  # maps of free-form keys
                out.extend(_paths(value, path))
    elif isinstance(data, list):
        for item in data:
            out.extend(_paths(item, f"{prefix}[]"))
    return out


def _device(example: Path) -> tuple[dict[str, Any], str]:
    doc = yaml.safe_load(_text(example))
    return (doc["device"], "device") if "device" in doc else (doc["spec"], "spec")


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_field_is_in_the_configuration_reference(example: Path) -> None:
    documented = _documented_fields()
    spec, _ = _device(example)
    undocumented = [p for p in _paths(spec) if p not in documented]
    assert not undocumented, f"{example.name} uses fields docs/configuration.md does not list: {undocumented}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_runs_until_the_kubeconfig_step(example: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`cisco-vk run --config EXAMPLE` gets past validation: it stops where it needs a cluster."""
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "VKUBELET_NODE_NAME",
                "LOG_LEVEL", "CVK_LOG_FORMAT", "CVK_DEVICE_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("CVK_DEVICE_PASSWORD", "example-password")
    missing = tmp_path / "no-kubeconfig"
    result = CliRunner().invoke(main, ["run", "--config", str(example), "--kubeconfig", str(missing),
                                       "--kubelet-port", "0", "--kubelet-address", "127.0.0.1"])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2, result.output
    assert errors == [f"error: kubeconfig: kubeconfig file not found: {missing}; "
                      "fix the --kubeconfig path or leave it out"], result.output


def _readme_manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for block in re.findall(r"```yaml\n(.*?)```", _text(README), flags=re.S):
        docs.extend(d for d in yaml.safe_load_all(block) if d)
    return docs


def test_readme_ciscodevice_passes_the_crd_and_the_loader() -> None:
    devices = [d for d in _readme_manifests() if d.get("kind") == "CiscoDevice"]
    assert devices
    schema = crd.crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for device in devices:
        _, errors = validate_and_default(device, schema)
        assert errors == []
        spec = document_to_spec(device, "README.md")
        assert parse_device_spec(device["spec"], "spec").address == spec.address


def _rows() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w.\[\]]+)` \|(.*)\|\s*$", _text(CONFIG_DOC),
                                                         flags=re.M)}


def _spec_defaults(cls: type = DeviceSpec, prefix: str = "") -> list[tuple[str, Any]]:
    """(doc path, default) of every spec field whose code default is a plain value."""
    out: list[tuple[str, Any]] = []
    for key, (f, tp) in fields_of(cls).items():
        path = f"{prefix}{key}"
        inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        if dataclasses.is_dataclass(inner[0]):
            out.extend(_spec_defaults(inner[0], f"{path}[]." if key == "taints" else f"{path}."))
        elif f.default is not dataclasses.MISSING and f.default is not None:
            out.append((path, f.default))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if isinstance(value, enum.Enum) else value)


def test_every_field_of_the_reference_says_what_it_means() -> None:
    empty = [path for path, row in _rows().items() if not row.split("|")[-1].strip()]
    assert not empty, f"docs/configuration.md rows without a meaning: {empty}"


@pytest.mark.parametrize(("path", "default"), _spec_defaults(), ids=[p for p, _ in _spec_defaults()])
def test_the_reference_states_the_default_the_code_applies(path: str, default: Any) -> None:
    row = _rows()[path]
    assert re.search(rf"default `?\"?{re.escape(_shown(default))}\b", row), \
        f"docs/configuration.md: {path} defaults to {_shown(default)!r} in the code, the row says: {row}"


@pytest.mark.parametrize(("path", "phrase"), [
    ("nodeName", "`cisco-vk-<address>`"),  # the `device:` form has no metadata.name (cvk.config.names)
    ("fake.stateFile", "fake-<address>.json"),  # cvk/driver/fake/store.py default_state_file
    ("xe.networking.interface", "VirtualPortGroup 0 with DHCP"),  # cvk/driver/xe/network.py
    ("podCIDR", "Node"),  # cvk/node/objects.py sets Node spec.podCIDR from it
])
def test_the_reference_states_computed_defaults(path: str, phrase: str) -> None:
    assert phrase in _rows()[path]


def test_no_placeholder_is_eaten_as_an_html_tag() -> None:
    """`<address>` outside a code span renders as an (invisible) HTML tag on GitHub."""
    for page in PAGES:
        prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", _text(page), flags=re.S))
        tags = re.findall(r"<[a-zA-Z][\w-]*>", prose)
        assert not tags, f"{page.name}: {tags} outside code spans disappear when rendered; wrap them in backticks"


def test_readme_names_every_env_var_cisco_vk_run_reads() -> None:
    from cvk.config import loader
    from cvk.transport.grpc import config as grpc_config

    read = {p.envvar for p in _command("run").params if isinstance(p, click.Option) and isinstance(p.envvar, str)}
    read |= {loader.PASSWORD_ENV, loader.PASSWORD_FILE_ENV,
             grpc_config.ENV_PORT, grpc_config.ENV_INSECURE, grpc_config.ENV_DISABLED}
    missing = sorted(read - _env_vars(README))
    assert not missing, f"README.md does not name the environment variables cisco-vk run reads: {missing}"


MANIFEST_EXAMPLES = [p for p in EXAMPLES if "kind: CiscoDevice" in _text(p)]


@pytest.mark.parametrize("example", MANIFEST_EXAMPLES, ids=[p.name for p in MANIFEST_EXAMPLES])
def test_ciscodevice_examples_pass_the_crd_schema(example: Path) -> None:
    """`kubectl apply -f examples/ciscodevice-*.yaml` is accepted by the API server."""
    schema = crd.crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    _, errors = validate_and_default(yaml.safe_load(_text(example)), schema)
    assert errors == []


def test_there_are_ciscodevice_examples() -> None:
    assert len(MANIFEST_EXAMPLES) >= 2


def _install_block() -> str:
    section = _text(README).split("## Installing in a cluster", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks
    return blocks[0].replace("\\\n", " ")


def test_readme_install_uses_the_chart_and_its_values() -> None:
    block = _install_block()
    chart = re.search(r"helm install \S+ (\S+)", block)
    assert chart and (ROOT / chart.group(1) / "Chart.yaml").is_file()
    values = yaml.safe_load(_text(ROOT / chart.group(1) / "values.yaml"))
    for key in re.findall(r"--set ([\w.]+)=", block):
        node: Any = values
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"README sets {key}, which values.yaml does not have"
            node = node[part]
    tag = re.search(r"docker build -f (\S+) -t ([\w.-]+):([\w.-]+) \.", block)
    assert tag and (ROOT / tag.group(1)).is_file()
    chart_meta = yaml.safe_load(_text(ROOT / chart.group(1) / "Chart.yaml"))
    assert (tag.group(2), tag.group(3)) == (values["image"]["repository"], chart_meta["appVersion"]), \
        "the image README builds is not the one the chart runs by default"


def test_readme_install_creates_every_secret_the_example_needs() -> None:
    block = _install_block()
    example = re.search(r"kubectl apply -f (examples/\S+)", block)
    assert example
    spec = yaml.safe_load(_text(ROOT / example.group(1)))["spec"]
    needed = {spec["credentialSecretRef"]["name"]}
    needed |= {ref["name"] for ref in (spec.get("tls", {}).get("caSecretRef"),
                                       spec.get("tls", {}).get("clientCertSecretRef"),
                                       spec.get("ssh", {}).get("knownHostsSecretRef")) if ref}
    created = set(re.findall(r"kubectl create secret generic (\S+)", block))
    assert needed <= created, f"README's install does not create {needed - created}"


def test_readme_printer_columns_are_the_crd_ones() -> None:
    shown = re.search(r"kubectl get cvk\s+# (.*)", _install_block())
    assert shown
    columns = [c["name"] for c in crd.crd_manifest()["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert [c.strip() for c in shown.group(1).split(",")] == [c for c in columns if c != "Age"]


CEL_FUNCTIONS = {"has", "type", "size", "matches", "exists", "all", "filter", "map"}


def test_every_function_and_path_the_docs_name_exists() -> None:
    source = "\n".join(_text(p) for d in ("cvk", "controller", "hack") for p in (ROOT / d).rglob("*.py"))
    defined = set(re.findall(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)", source, flags=re.M))
    for page in PAGES:
        text = _text(page)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        called = set(re.findall(r"`(?:[\w.]+\.)?(\w+)\(", prose)) - CEL_FUNCTIONS
        assert called <= defined, f"{page.name} names {sorted(called - defined)}, which the code does not define"
        for path in re.findall(r"`((?:cvk|controller|hack|deploy|tests|proto|examples)/[\w./-]+)`", text):
            assert (ROOT / path).exists(), f"{page.name} names {path}, which does not exist"


def test_helm_chart_passes_only_flags_cisco_vk_controller_has() -> None:
    template = _text(ROOT / "deploy" / "helm" / "cisco-vk" / "templates" / "controller.yaml")
    args = re.findall(r"^\s*- (--[a-z][\w-]*)", template, flags=re.M)
    assert "--vk-image" in args
    unknown = sorted(set(args) - _flags(_command("controller")))
    assert not unknown, f"the Helm chart passes {unknown}, which cisco-vk controller does not have"


def test_controller_runs_cisco_vk_with_flags_run_has() -> None:
    from controller import render

    device = yaml.safe_load(_text(ROOT / "examples" / "ciscodevice-xe-secret.yaml"))
    device["metadata"]["uid"] = "u-1"
    dep = render.render_deployment(device, render.RenderOptions())
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["cisco-vk"] and container["args"][0] == "run"
    flags = [a for a in container["args"][1:] if a.startswith("-")]
    assert flags and not set(flags) - _flags(_command("run"))
    names = {e["name"] for e in container.get("env", [])}
    assert "CVK_DEVICE_PASSWORD" in names  # the variable the loader reads (README, Running one device)


@pytest.mark.parametrize(("page", "module"), [("iosxe-simulator.md", "hack.iosxe_sim")])
def test_every_tool_flag_is_documented(page: str, module: str) -> None:
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    flags = set(re.findall(r"^\s+(--[a-z][\w-]*)", out.stdout, flags=re.M)) - {"--help"}
    assert flags
    text = _text(ROOT / "docs" / page)
    missing = sorted(f for f in flags if not re.search(rf"`[^`]*{re.escape(f)}(?![\w-])[^`]*`", text))
    assert not missing, f"docs/{page} does not document {missing} of `python -m {module}`"


def test_readme_ciscodevice_secrets_are_all_created() -> None:
    """Applying the README's CiscoDevice as shown ends Ready, not SecretNotFound."""
    docs = _readme_manifests()
    text = _text(README)
    created = {d["metadata"]["name"] for d in docs if d.get("kind") == "Secret"}
    created |= set(re.findall(r"kubectl create secret generic ([\w.-]+)", text))
    for device in (d for d in docs if d.get("kind") == "CiscoDevice"):
        spec = device["spec"]
        refs = [spec.get("credentialSecretRef"), spec.get("tls", {}).get("caSecretRef"),
                spec.get("tls", {}).get("clientCertSecretRef"), spec.get("ssh", {}).get("knownHostsSecretRef")]
        missing = {r["name"] for r in refs if r} - created
        name = device["metadata"]["name"]
        assert not missing, f"README's CiscoDevice {name} needs Secrets it never creates: {missing}"


def test_readme_lists_every_xe_setting_with_its_default() -> None:
    import dataclasses

    from cvk.driver.xe.driver import XESettings

    row = next(line for line in _text(README).splitlines() if line.startswith("| `CVK_XE_<SETTING>`"))
    listed = {k.upper(): v for k, v in re.findall(r"`([a-z_]+)` \(([\d.]+)\)", row)}
    defaults = XESettings()
    expected = {}
    for f in dataclasses.fields(XESettings):
        value = float(getattr(defaults, f.name))
        expected[f.name.upper()] = str(int(value)) if value.is_integer() else str(value)
    assert listed == expected


def test_readme_metrics_table_matches_the_registered_metrics() -> None:
    from prometheus_client import REGISTRY

    import controller.manager  # noqa: F401 - registers the controller's metrics
    import cvk.daemon
    import cvk.transport.grpc.capability  # noqa: F401

    text = _text(README)
    documented = set(re.findall(r"`(cisco_vk_[a-z_]+)`", text))
    registered = {m.name for m in REGISTRY.collect() if m.name.startswith("cisco_vk_")}
    # Counters are collected without their _total suffix.
    registered = {n + "_total" if f"{n}_total" in documented else n for n in registered}
    assert documented == registered
