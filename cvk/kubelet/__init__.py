"""The kubelet HTTPS API of a cisco-vk node (port 10250): logs, exec/attach, port-forward, pods, stats.

``KubeletServer`` is what the daemon starts; everything else in this package is one piece of it:
TLS material (``tls``), authentication and authorization (``auth``), error mapping (``httperrors``),
container logs (``logs``), the JSON and Prometheus views of driver stats (``stats``), and the
remotecommand streaming protocols (``remotecommand``, ``wsstream``, ``spdy``, ``spdyexec``).
"""

from cvk.kubelet.server import KubeletServer

__all__ = ["KubeletServer"]
