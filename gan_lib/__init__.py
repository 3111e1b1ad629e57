"""gan_lib: the small, tested library behind the dog GAN course.

Modules: data (photos -> cached tensors -> batches), download and boxes (datasets), models (G and D),
losses, augment (DiffAugment), training (the two steps and the Trainer), metrics, plotting, checks
(exercise checks), cli (`python -m gan_lib`). Start reading at training.discriminator_step.
"""

__version__ = "0.1.0"
