"""The Docker sandbox provider: isolation by default, the docker SDK behind one adapter."""
