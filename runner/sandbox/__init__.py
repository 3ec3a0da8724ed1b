"""Where submissions run. ``base`` is the interface; ``docker`` the isolated implementation.

The rest of the runner only knows :class:`~runner.sandbox.base.SandboxProvider` and
:class:`~runner.sandbox.base.Sandbox`; nothing outside ``runner.sandbox.docker`` imports
the docker SDK.
"""
