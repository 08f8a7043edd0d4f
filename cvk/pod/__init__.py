"""The pod side of the virtual kubelet: drive the device from the pods bound to this node.

- ``keys``: pod keys and small accessors;
- ``compare``: when a pod change needs a driver call (create/update) and when two pods are equal;
- ``env``: environment resolution (ConfigMaps, Secrets, downward API, service links, ``$(VAR)``);
- ``status``: driver status to API status (notifier, duplicate suppression, device-outage
  condition); ``poll``: the polling fallback for drivers without a notifier;
- ``resources``: the ConfigMaps, Secrets and Services env resolution reads;
- ``sync``: the create/update/delete decisions and the force delete;
- ``reconcile``: the startup pass over the driver's pods;
- ``controller``: ``PodController`` wiring informer, work queues and the modules above.
"""
