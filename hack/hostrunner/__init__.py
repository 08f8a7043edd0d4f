"""The sandbox's host node: a minimal kubelet and scheduler running pods as local processes."""
