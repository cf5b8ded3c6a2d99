"""flowlib: the reference transformer and the helpers of the transformers course.

One module per idea, named in the lessons' words::

    attention    scaled dot-product attention, masks, multi-head attention
    positions    sinusoidal, learned and rotary position information
    blocks       feed-forward, encoder and decoder blocks (post-LN and pre-LN)
    models       configs and whole models: encoder-decoder, GPT, BERT-style encoder, ViT, LSTM
    generation   greedy decoding and sampling (temperature, top-k), key/value cache
    tokenizers   character tokenizer and the pretrained WordPiece tokenizer
    data         the offline text corpus, seeded synthetic tasks, padding and batching
    training     the one training loop every lesson uses
    pretrained   offline all-MiniLM-L6-v2, Hugging Face weight conversion
    viz          attention heatmaps, positional-encoding plots, loss curves
    grading      the checks exercise tests call, with feedback that teaches
    mistakes     the classic mistakes, implemented on purpose (bug gallery, feedback)
    self_assessment  objectives and the learner's ratings (sliders, append-only log)
    calibration  ratings beside exercise scores: progress and calibration pictures
    doctor       is this machine ready for the course?
    instructor   release, autograde, feedback and grade export (nbgrader)
    cli          the ``flowlib`` command

Import the module you need: ``from flowlib import attention``.
"""

__version__ = "0.1.0"

from flowlib.doctor import doctor  # noqa: E402  (the one thing lesson 00 calls first)

__all__ = ["doctor", "__version__"]
