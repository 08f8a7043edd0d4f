from hack.kubeapi.fixtures import kubeapi, kubeapi_process  # noqa: F401
