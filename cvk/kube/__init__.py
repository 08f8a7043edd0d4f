"""cisco-vk's Kubernetes access layer: config loading, an async API client, a work queue,
informers and an event recorder. See each module's docstring."""

from cvk.kube.client import KubeClient, WatchEvent
from cvk.kube.config import KubeConfig, load_config
from cvk.kube.errors import (
    AlreadyExistsError,
    ApiError,
    ApiUnavailable,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnauthorizedError,
)
from cvk.kube.events import EventRecorder
from cvk.kube.informer import Informer, object_key
from cvk.kube.workqueue import PermanentError, WorkQueue

__all__ = [
    "AlreadyExistsError",
    "ApiError",
    "ApiUnavailable",
    "ConflictError",
    "EventRecorder",
    "ForbiddenError",
    "GoneError",
    "Informer",
    "InvalidError",
    "KubeClient",
    "KubeConfig",
    "NotFoundError",
    "PermanentError",
    "UnauthorizedError",
    "WatchEvent",
    "WorkQueue",
    "load_config",
    "object_key",
]
