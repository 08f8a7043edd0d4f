"""The local sandbox behind `make demo`."""
