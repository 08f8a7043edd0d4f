"""IOS-XE device simulator: RESTCONF (app-hosting, oper data) over HTTPS, with faults and recording.

Run ``python -m hack.iosxe_sim --port 0 --write-ca ca.pem``; in tests use the fixtures of
``hack.iosxe_sim.fixtures``. See docs/iosxe-simulator.md.
"""
