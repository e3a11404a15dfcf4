"""nstlab: the helper library of the neural style transfer course.

Every notebook imports it; none re-implements it. One topic per module (flat; import the one you need,
``from nstlab import stats``):

Images and networks
    ``images`` (load, resize, save, show; sample images), ``budget`` (the ``NSTLAB_BUDGET`` switch),
    ``weights`` (obtaining and verifying weight files), ``layers`` (the VGG layer table),
    ``backbones`` (VGG feature extractors with named layers), ``receptive`` (receptive-field arithmetic).
Statistics and transforms of features
    ``stats`` (Gram matrices, shrinkage, MMD, moments, entropy), ``transforms`` (AdaIN, IN vs BN, WCT,
    the Gaussian OT map), ``color`` (pixel-space colour: luminance, colour transfer and preservation),
    ``losses`` (content, Gram, OT and MMD style losses, total variation), ``counterexamples`` (pairs of
    feature sets that one style loss calls equal and another tells apart).
Style transfer
    ``optimize`` (image-optimization NST: the public loop, ``stylize``, ``invert``), ``masks`` (spatial
    control), ``video`` (flicker-free video), ``stain`` (stain normalization of medical images),
    ``decoders`` (feed-forward decoders, the distilled student and fast transfer), ``decoder_training``
    (the decoders' training), ``distill`` (the student's training),
    ``artifacts`` (checkerboard artifacts of transposed convolution).
Teaching
    ``figures`` (intuition figures drawn by code), ``gallery`` (the converged figures of the course's
    claims, each beside its control), ``widgets`` (instructor demos), ``checks`` (exercise
    checkers, a package), ``cli`` (the ``nstlab`` command). ``validation`` checks every public function's
    arguments against its type hints; ``_features`` holds the shape handling of the feature modules.
"""

from importlib.metadata import version

__version__ = version("nstlab")  # the one place is pyproject.toml
