"""Protobuf modules of the contract."""
