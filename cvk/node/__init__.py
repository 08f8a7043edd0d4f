"""The node side of the virtual kubelet: the Node object, its Lease, its status and the device ping.

- ``ping``: single-flight device probe whose latest result every other part reads;
- ``objects``: builds the desired Node (labels, taints, capacity, addresses, conditions);
- ``patch``: the three-way strategic-merge status patch with last-applied annotations;
- ``lease``: the ``kube-node-lease/N`` Lease renewal;
- ``taint``: the ``cisco-vk.io/device-unreachable:NoSchedule`` taint while the device is lost;
- ``controller``: ``NodeController`` wiring the above (register, renew, patch, react to the device).
"""
