"""IOS-XE driver: Kubernetes pods as App-Hosting (IOx) apps over RESTCONF (see driver.py)."""
