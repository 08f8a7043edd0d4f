"""Modules generated from proto/ by hack/scripts/gen_protos.sh. Do not edit."""
