"""Device configuration: the CiscoDevice spec, its loader and its validation."""
