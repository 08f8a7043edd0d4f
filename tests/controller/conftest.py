from hack.kubeapi.fixtures import kubeapi  # noqa: F401
