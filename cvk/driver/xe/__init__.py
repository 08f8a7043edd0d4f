"""IOS-XE driver: Kubernetes pods as App-Hosting (IOx) apps over RESTCONF.

Modules (one job each):

- ``driver``: ``XEDriver`` (the Driver ABC), its background observe-then-act loop, ``XESettings``;
- ``snapshot``: one device-wide read (app configs, oper data, ARP on demand) shared by every pod;
- ``reconciler``: the pure per-container step decision (configure, install, activate, start / stop,
  deactivate, uninstall, delete config);
- ``records``: pod validation and the driver's memory of each pod and container;
- ``status``: Kubernetes pod and container status from what the device shows;
- ``naming``: app IDs (≤40 chars of [0-9a-zA-Z_]) and run-opts labels that map back to pods;
- ``network`` / ``ipam``: the app's network leaves per interface type, the static address allocator;
- ``resources`` / ``quantity``: the resource profile from requests/limits, checked against the YANG;
- ``image``: which images a device can install;
- ``oper``: lenient parsing of oper, config, ARP and hardware documents;
- ``node``: capacity, node facts and usage stats;
- ``paths``: RESTCONF resources and RPC bodies;
- ``logs`` / ``exec``: kubectl logs (gNOI File / SSH) and exec/attach (SSH) into apps.
"""
