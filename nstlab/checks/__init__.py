"""Exercise checks with feedback that names the mistake.

Every ``check_<task>(student_fn)`` runs the student's function on fresh seeded random inputs, compares
the result with nstlab's reference, prints one line and returns True or False. It never raises: an
unfinished stub (``raise NotImplementedError``) prints "not implemented yet", so an exercise notebook
runs from top to bottom under nbval before any exercise is done.

When a result is wrong, the check runs the known wrong implementations of the task (transposed
product, wrong normalization, missing eps, ...) on the same inputs; if the student's output matches
one, the line names that mistake instead of only saying "wrong". A function that changes its inputs in
place fails every check, and a loss task also compares the gradient.

A chapter's "Your turn" cell hands the student's function to :func:`your_turn`, which runs its check and
returns the function the chapter goes on with (the student's once it passes, the library's until then).

Layout: :mod:`._core` (``say``, ``difference``, ``verdict``, ``your_turn``, ...), :mod:`._random` (the
seeded inputs), one module per exercise set, ``setNN_<name>`` after ``solutions/NN_<name>.ipynb``, and
``chapters_*`` for the "Your turn" cells that no set's check covers. Notebooks use the names re-exported
here: ``checks.check_gram(gram)``.
"""

from ._core import OneOf, difference, prediction, say, verdict, your_turn
from .chapters_01_02_04 import check_shrink_scaled, effective_scale_reference, shrink_scaled_reference
from .chapters_05_06_07 import adain_reference, sliced_w2_reference, whiten_reference
from .chapters_08_to_11 import (
    adain_layer_reference,
    check_block_gram_padded,
    check_one_level,
    check_zero_insertion,
    gram_memory_reference,
    one_level_reference,
    preserve_color_reference,
)
from .set01_gram_memory import check_block_diag_gram, check_gram, check_gram_memory
from .set02_gram_mmd import check_mmd2_poly2, check_poly2_kernel
from .set03_shrinkage import (
    check_gram_entry_variance,
    check_gram_entry_variance_theory,
    check_optimal_lambda,
    check_shrink,
    optimal_lambda_reference,
)
from .set04_receptive_fields import (
    check_effective_scale,
    check_receptive_fields,
    check_scale_ratio,
    receptive_field_reference,
)
from .set05_adain_entropy import check_adain, check_entropy_change
from .set06_in_vs_bn import check_batch_norm, check_instance_norm
from .set07_wct import check_color, check_wct, check_whiten, check_whiten_pca
from .set08_loss_hierarchy import (
    check_equal_marginals_pair,
    check_equal_moments_pair,
    check_mean_std_loss,
    check_ot1d,
)
from .set09_w2_vs_gram import check_equal_covariance_clouds, check_sliced_w2
from .set10_checkerboard import (
    TIE_RULE,
    check_artifact_frequency,
    check_dominant_frequency,
    check_overlap_pattern,
    check_resize_conv,
    dominant_frequencies,
)
from .set11_gatys import (
    check_content_loss,
    check_gatys_loss,
    check_gram_style_loss,
    check_preprocess,
    check_stylize_loop,
    check_stylize_loop_vgg,
    check_tv_loss,
    content_loss_reference,
    gatys_loss_reference,
    gram_style_loss_reference,
    loop_reference,
    preprocess_reference,
    tiny_network,
)
from .set12_fast import (
    check_adain_layer,
    check_decoder_loss,
    check_fast_transfer,
    check_train_decoder,
    decoder_loss_reference,
    tiny_decoder,
    tiny_encoder,
    train_reference,
)
from .set13_color import (
    check_luminance,
    check_match_luminance,
    check_preserve_color,
    check_reinhard,
    stand_in_transfer,
)

__all__ = [
    "TIE_RULE",
    "OneOf",
    "your_turn",
    "adain_layer_reference",
    "adain_reference",
    "check_adain",
    "check_adain_layer",
    "check_artifact_frequency",
    "check_batch_norm",
    "check_block_diag_gram",
    "check_block_gram_padded",
    "check_color",
    "check_content_loss",
    "check_decoder_loss",
    "check_dominant_frequency",
    "check_effective_scale",
    "check_entropy_change",
    "check_equal_covariance_clouds",
    "check_equal_marginals_pair",
    "check_equal_moments_pair",
    "check_fast_transfer",
    "check_gatys_loss",
    "check_gram",
    "check_gram_entry_variance",
    "check_gram_entry_variance_theory",
    "check_gram_memory",
    "check_gram_style_loss",
    "check_instance_norm",
    "check_luminance",
    "check_match_luminance",
    "check_mean_std_loss",
    "check_mmd2_poly2",
    "check_one_level",
    "check_optimal_lambda",
    "check_ot1d",
    "check_overlap_pattern",
    "check_poly2_kernel",
    "check_preprocess",
    "check_preserve_color",
    "check_receptive_fields",
    "check_reinhard",
    "check_resize_conv",
    "check_scale_ratio",
    "check_shrink",
    "check_shrink_scaled",
    "check_sliced_w2",
    "check_stylize_loop",
    "check_stylize_loop_vgg",
    "check_train_decoder",
    "check_tv_loss",
    "check_wct",
    "check_whiten",
    "check_whiten_pca",
    "check_zero_insertion",
    "content_loss_reference",
    "decoder_loss_reference",
    "difference",
    "dominant_frequencies",
    "effective_scale_reference",
    "gatys_loss_reference",
    "gram_memory_reference",
    "gram_style_loss_reference",
    "loop_reference",
    "one_level_reference",
    "optimal_lambda_reference",
    "prediction",
    "preprocess_reference",
    "preserve_color_reference",
    "receptive_field_reference",
    "say",
    "shrink_scaled_reference",
    "sliced_w2_reference",
    "stand_in_transfer",
    "tiny_decoder",
    "tiny_encoder",
    "tiny_network",
    "train_reference",
    "verdict",
    "whiten_reference",
]
