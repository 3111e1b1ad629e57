"""gan_lib: the small, tested library behind the dog GAN course.

Start reading at training.discriminator_step and training.generator_step: they are the whole idea.
Modules, one job each (docs/architecture.md draws how they fit together): config (settings and the
recommended recipe), data (photos -> cached tensors -> batches), download and boxes (datasets),
models (G and D), losses, augment (DiffAugment), training (the two steps and the Trainer), callbacks
(progress, dashboard, run folder), checkpoint, sampling, metrics, plotting, files (atomic writes),
distributed (torchrun), checks and solutions (exercises), cli (`python -m gan_lib`).
"""

__version__ = "0.2.0"
