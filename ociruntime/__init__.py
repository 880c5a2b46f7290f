"""ociruntime: a runc-compatible OCI runtime written in Python.

Nothing public lives here but the version constants; the CLI is ``ociruntime.cli``.
"""

__version__ = "0.1.0"
#: The runtime-spec version this runtime implements and reports in state and features.
SPEC_VERSION = "1.3.0"
