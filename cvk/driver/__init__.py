"""Device drivers: the only code that knows how to talk to a particular kind of device."""
