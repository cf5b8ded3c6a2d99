"""flowlib: the reference transformer and the helpers of the transformers course.

One module per idea, named in the lessons' words::

    attention    scaled dot-product attention, masks, multi-head attention
      attention_checks  its input checks (messages that name the shapes)
      fused_attention   PyTorch's fused kernel beside the plain math; weights on demand
    positions    sinusoidal, learned and rotary position information
    blocks       feed-forward, encoder and decoder blocks (post-LN and pre-LN)
    models       the Encoder and Decoder stacks and whole models: the 2017 encoder-decoder, GPT
    bert         the BERT-style encoder, its masked-LM and classification heads, mean pooling
    vit          the vision transformer: image patches as tokens
    lstm         the LSTM baseline of lesson 1
    generation   greedy decoding and sampling (temperature, top-k), key/value cache
    tokenizers   character tokenizer and the pretrained WordPiece tokenizer
    bpe          byte-pair encoding by hand: pair counts, one merge step, training, encoding
    data         the offline text corpus, padding, batching and masked-LM masking
    tasks        seeded synthetic tasks: recall at a distance, copy/reverse/number words, tabular
    training     the one training loop every lesson uses
    pretrained   offline all-MiniLM-L6-v2 and the course's models in Hugging Face's format
    optional     the packages only the pretrained lessons need: which to install, MiniLM's files
    hf_format    flowlib's BERT and GPT to and from Hugging Face's BertForMaskedLM and GPT2LMHeadModel
    finetuning   a labelled task from the standard library's docstrings, and fine-tuning helpers
    lora         low-rank adaptation of a linear layer
    viz          attention heatmaps, positional-encoding plots, loss curves
    explorer     an attention explorer (ipywidgets; a static picture when headless)
    grading      the checks exercise tests call, with feedback that teaches
    comparisons  how each check decides, on plain data (the learner's kernel and the grader)
    cells        a notebook cell as the course reads it: source, nbgrader role, hidden tests, failure words
    mistakes     the classic mistakes, implemented on purpose (bug gallery, feedback)

The course machinery lives apart, in :mod:`flowlib.course` (the grading engine, the instructor's
and the learner's commands, the self-assessment, the doctor): a lesson calls only
``flowlib.doctor()`` and the self-assessment's ``rate``.

Import the module you need: ``from flowlib import attention``.
"""

from flowlib.course.doctor import doctor  # the one thing lesson 00 calls first

__version__ = "0.1.0"

__all__ = ["doctor", "__version__"]
