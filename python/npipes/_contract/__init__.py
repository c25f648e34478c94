"""The typed contract of an RPC service (issue 24), without I/O: JSON Schema
from type hints, OpenRPC documents, argument checking, typed proxies and
generated stubs.  The public face is :mod:`npipes.contract`."""
