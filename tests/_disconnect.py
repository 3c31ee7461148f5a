"""A simulated Colab disconnect, shared by the resume tests of training, the VAE and the GAN."""

import keras


class Interrupt(Exception):
    """Raised by :class:`InterruptAfter`; the test expects it, as a notebook user would see a dead kernel."""


class InterruptAfter(keras.callbacks.Callback):
    """Stop training with :class:`Interrupt` after ``epochs`` finished epochs."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise Interrupt()
