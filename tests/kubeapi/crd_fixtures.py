"""A CiscoDevice-like CRD used by the CRD tests."""

from __future__ import annotations

from typing import Any

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "ciscodevices.cisco.vk"},
    "spec": {
        "group": "cisco.vk",
        "scope": "Namespaced",
        "names": {"plural": "ciscodevices", "singular": "ciscodevice", "kind": "CiscoDevice", "shortNames": ["cdev"]},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Driver", "type": "string", "jsonPath": ".spec.driver"},
                    {"name": "Port", "type": "integer", "jsonPath": ".spec.port"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["driver"],
                                "properties": {
                                    "driver": {"type": "string", "enum": ["XE", "FAKE"]},
                                    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 830},
                                    "address": {"type": "string", "maxLength": 40, "pattern": "^[0-9a-z.:-]+$"},
                                    "options": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.driver != 'XE' || has(self.address)",
                                        "message": "XE devices need an address",
                                    }
                                ],
                            },
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}

CLUSTER_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "sites.cisco.vk"},
    "spec": {
        "group": "cisco.vk",
        "scope": "Cluster",
        "names": {"plural": "sites", "singular": "site", "kind": "Site"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}

CRD_YAML = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ciscodevices.cisco.vk
spec:
  group: cisco.vk
  scope: Namespaced
  names: {plural: ciscodevices, singular: ciscodevice, kind: CiscoDevice, shortNames: [cdev]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Driver, type: string, jsonPath: .spec.driver}
    - {name: Port, type: integer, jsonPath: .spec.port}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [driver]
            properties:
              driver: {type: string, enum: [XE, FAKE]}
              port: {type: integer, minimum: 1, maximum: 65535, default: 830}
              address: {type: string, maxLength: 40}
          status:
            type: object
            properties:
              phase: {type: string}
"""
