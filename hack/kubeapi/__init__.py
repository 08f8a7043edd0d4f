"""In-memory Kubernetes API server emulator for tests and the local sandbox.

See docs/kubeapi-emulator.md. Entry points: ``python -m hack.kubeapi`` (server process),
``hack.kubeapi.server.KubeAPIServer`` (in-process), ``hack.kubeapi.fixtures`` (pytest fixtures).
"""
