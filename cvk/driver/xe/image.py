"""Which container images an IOS-XE device can install: a file on its own storage or an HTTP(S) URL.

IOx installs packages (``.tar``) from a device filesystem (``flash:``, ``bootflash:``, ``harddisk:``,
``usbflash0:``) or fetches them over HTTP(S). Registry references such as ``nginx:latest`` cannot be
installed; the pod fails with a message that says what to use instead.
"""

from __future__ import annotations

import urllib.parse

from cvk.errors import InvalidInput

DEVICE_PREFIXES = ("flash:", "bootflash:", "harddisk:", "usbflash0:")
MAX_LEN = 512


def validate_image(image: str, field: str) -> str:
    """Return ``image`` when the device can install it, else raise InvalidInput naming ``field``."""
    hint = (
        "the image must be a package on the device (flash:, bootflash:, harddisk:, usbflash0:, "
        "e.g. flash:/apps/hello.tar) or an http(s):// URL of the package"
    )
    if not image:
        raise InvalidInput(f"{field}: empty image; {hint}")
    if len(image) > MAX_LEN or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in image):
        raise InvalidInput(f"{field}: {image[:80]!r} is not a valid package path; {hint}")
    lower = image.lower()
    for prefix in DEVICE_PREFIXES:
        if lower.startswith(prefix):
            rest = image[len(prefix):].lstrip("/")
            if not rest or rest.endswith("/"):
                raise InvalidInput(f"{field}: {image!r} names a directory, not a package file; {hint}")
            if ".." in rest.split("/"):
                raise InvalidInput(f"{field}: {image!r} must not contain '..'; {hint}")
            return image
    if lower.startswith(("http://", "https://")):
        parsed = urllib.parse.urlsplit(image)
        if not parsed.netloc or not parsed.path.strip("/"):
            raise InvalidInput(f"{field}: {image!r} is not a complete URL of a package; {hint}")
        return image
    raise InvalidInput(f"{field}: {image!r} is not installable on IOS-XE; {hint}")
