"""cisco-vk: Cisco IOS-XE devices as Kubernetes nodes (a Python virtual kubelet)."""

__version__ = "0.1.0"
