"""The one thing setup.cfg cannot say: the package list is what `find_packages` finds plus
`structgen.grammars`, whose files live in the top-level ``grammars/`` folder (``package_dir``
in setup.cfg maps it). Everything else is declared in setup.cfg."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["structgen", "structgen.*", "jsonschemabench", "jsonschemabench.*"])
      + ["structgen.grammars"])
