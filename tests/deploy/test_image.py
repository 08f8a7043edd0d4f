"""The image recipe: what deploy/Dockerfile copies exists, it runs as a non-root user, and the wheel it
installs carries both programs (cisco-vk run and cisco-vk controller). No Docker engine runs here, so
the image itself is not built in tests; the wheel step of the Dockerfile is."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def test_dockerfile_copies_existing_paths_and_runs_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    for src in re.findall(r"^COPY (?!--from)(.+?) \S+$", text, flags=re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and not users[-1].startswith(("0", "root")), "the final stage must run as a non-root user"
    assert re.search(r"^FROM python:3\.11-slim", text, flags=re.M)
    assert 'ENTRYPOINT ["cisco-vk"]' in text


@pytest.mark.slow
def test_the_wheel_carries_both_programs(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("cisco_vk-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "cvk/cli.py" in names and "controller/manager.py" in names
    assert any(n.startswith("cvk/grpcapi/gen/") and n.endswith("_pb2.py") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cisco-vk = cvk.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
