"""gan_lib: the small, tested library behind the dog GAN course.

Start reading at training.discriminator_step and training.generator_step: they are the whole idea.
The map of the modules (the data flow, and one paragraph per module) is docs/architecture.md.
"""

__version__ = "0.2.0"
