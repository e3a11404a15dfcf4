"""nstlab: the helper library of the neural style transfer course.

Every notebook imports it; none re-implements it. One topic per module:
``images``, ``weights``, ``backbones``, ``receptive``, ``stats``, ``transforms``, ``losses``,
``optimize``, ``artifacts``, ``widgets``, ``checks``, ``cli``.
"""

from importlib.metadata import version

__version__ = version("nstlab")  # the one place is pyproject.toml
