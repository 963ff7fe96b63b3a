"""The ``serinus`` command. The only package that reads flags and the environment."""
