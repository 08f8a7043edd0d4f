"""Transports to network devices: RESTCONF (restconf.py); gRPC and SSH live in sub-packages."""
