"""Sample-quality metrics, one import for the notebooks: the names below live in three modules by job.

- features.py: feature extractors (`inception_extractor`, the offline `efficientnet_extractor`,
  `pretrained_efficientnet_lite`), `extract_features`, and `real_features` with its on-disk cache.
- distances.py: distances between image sets: Fréchet distance, KID, MiFID (and its
  `memorisation_distance`), precision/recall, sliced Wasserstein (SWD), nearest neighbours, the
  `checkerboard_strength` of one set, and `evaluate` / `format_results`, which run and report any of them.
- verdicts.py: what EfficientNet-Lite0's ImageNet classifier says: `imagenet_logits`, the dog-o-meter
  (`dog_o_meter`, `DogReport`) and `breed_match`.

`from gan_lib.metrics import X` works for every public name of the three; library code imports from
the module that holds X.
"""

from __future__ import annotations

from .distances import (FEATURE_METRICS, METRICS, check_metric_names, checkerboard_strength, evaluate, format_results,
                        frechet_distance, kernel_inception_distance, laplacian_pyramid, memorisation_distance, mifid,
                        nearest_neighbour_pairs, nearest_neighbours, precision_recall, sliced_wasserstein)
from .features import (DEFAULT_WEIGHTS_URL, INCEPTION_FILE, EfficientNetExtractor, Extractor, InceptionExtractor,
                       efficientnet_extractor, extract_features, extractor_label, get_extractor, images_fingerprint,
                       inception_extractor, inception_weights, pretrained_efficientnet_lite, real_features)
from .verdicts import (DOG_CLASSES, BreedMatch, DogReport, breed_match, dog_o_meter, dog_report, imagenet_class,
                       imagenet_classes, imagenet_logits)

__all__ = [
    # features.py
    "DEFAULT_WEIGHTS_URL", "INCEPTION_FILE", "EfficientNetExtractor", "Extractor", "InceptionExtractor",
    "efficientnet_extractor", "extract_features", "extractor_label", "get_extractor", "images_fingerprint",
    "inception_extractor", "inception_weights", "pretrained_efficientnet_lite", "real_features",
    # distances.py
    "FEATURE_METRICS", "METRICS", "check_metric_names", "checkerboard_strength", "evaluate", "format_results",
    "frechet_distance", "kernel_inception_distance", "laplacian_pyramid", "memorisation_distance", "mifid",
    "nearest_neighbour_pairs", "nearest_neighbours", "precision_recall", "sliced_wasserstein",
    # verdicts.py
    "DOG_CLASSES", "BreedMatch", "DogReport", "breed_match", "dog_o_meter", "dog_report", "imagenet_class",
    "imagenet_classes", "imagenet_logits",
]
