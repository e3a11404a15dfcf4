"""nstlab: the helper library of the neural style transfer course.

Every notebook imports it; none re-implements it. One topic per module:
``images``, ``weights``, ``backbones``, ``receptive``, ``stats``, ``transforms``, ``losses``,
``optimize``, ``artifacts``, ``widgets``, ``checks``, ``cli``.
"""

__version__ = "0.1.0"
