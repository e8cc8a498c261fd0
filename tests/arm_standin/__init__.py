"""A stand-in for Azure Resource Manager, for tests only.

No emulator of Azure Resource Manager exists offline; this package is a small stateful server
that answers exactly the storage (and subnet) operations the collection's Azure modules call,
over https on 127.0.0.1, with ARM's shapes and error codes. See README.md for what it does
and does not reproduce.
"""
