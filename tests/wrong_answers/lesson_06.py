"""Known-wrong answers to lesson 06 (the Flow pipeline): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_HEAD_CLASS = (
    "class ClassificationHead(nn.Module):\n"
    "    def __init__(self, d_model, n_classes):\n"
    "        super().__init__()\n"
    "        self.linear = nn.Linear(d_model, n_classes)\n"
    "\n"
    "    def forward(self, hidden, attention_mask):\n"
)

CASES = [
    # --- pipeline_order ----------------------------------------------------------------------
    WrongAnswer(
        answer_id="06_pipeline_order",
        source='pipeline_order = ["input text", "tokenizer", "embeddings", "feed-forward", "attention", "pooling", "head"]\n',
        fails=["06_pipeline_order_tests"],
        message="attention (mixing across tokens) comes before the feed-forward",
    ),
    WrongAnswer(
        answer_id="06_pipeline_order",
        source='pipeline_order = ["input text", "embeddings", "tokenizer", "attention", "feed-forward", "pooling", "head"]\n',
        fails=["06_pipeline_order_tests"],
        message="the tokenizer comes before the embeddings",
    ),
    WrongAnswer(
        answer_id="06_pipeline_order",
        source='pipeline_order = ["input text", "tokenizer", "embeddings", "attention", "feed-forward", "head"]\n',  # pooling missing
        fails=["06_pipeline_order_tests"],
        message="exactly once",
    ),
    # --- mean_pool ---------------------------------------------------------------------------
    WrongAnswer(
        answer_id="06_mean_pool",
        source="def mean_pool(hidden, attention_mask):\n    return hidden.mean(dim=1)\n",  # averages over padding
        fails=["06_mean_pool_tests", "06_mean_pool_tests_hidden"],
        message="padding included",
    ),
    WrongAnswer(
        answer_id="06_mean_pool",
        source=(
            "def mean_pool(hidden, attention_mask):\n"
            "    m = attention_mask.to(hidden.dtype).unsqueeze(-1)\n"
            "    return (hidden * m).sum(dim=1) / hidden.shape[1]\n"  # divides by the padded length
        ),
        fails=["06_mean_pool_tests", "06_mean_pool_tests_hidden"],
        message="divided by the padded length",
    ),
    WrongAnswer(
        answer_id="06_mean_pool",
        source=(
            "def mean_pool(hidden, attention_mask):\n"
            "    m = attention_mask.to(hidden.dtype).unsqueeze(-1)\n"
            "    return (hidden * m).sum(dim=1) / m.sum(dim=1)\n"  # NaN for a row without real tokens
        ),
        fails=["06_mean_pool_tests_hidden"],
        message="NaN",
        passes=["06_mean_pool_tests"],
    ),
    # --- ClassificationHead ------------------------------------------------------------------
    WrongAnswer(
        answer_id="06_classification_head",
        source=_HEAD_CLASS + "        return self.linear(hidden[:, 0])\n",  # first token instead of the mean
        fails=["06_classification_head_tests"],
        message="the first token's vector",
    ),
    WrongAnswer(
        answer_id="06_classification_head",
        source=_HEAD_CLASS + "        return self.linear(hidden.mean(dim=1))\n",  # averages over padding
        fails=["06_classification_head_tests", "06_classification_head_tests_hidden"],
        message="an average over padding too",
    ),
    WrongAnswer(
        answer_id="06_classification_head",
        source=(
            "class ClassificationHead(nn.Module):\n"
            "    def __init__(self, d_model, n_classes):\n"
            "        super().__init__()\n"
            "        self.linear = nn.Sequential(nn.Linear(d_model, d_model), nn.Tanh(), nn.Linear(d_model, n_classes))\n"
            "\n"
            "    def forward(self, hidden, attention_mask):\n"
            "        return self.linear(bert.mean_pool(hidden, attention_mask))\n"
        ),
        fails=["06_classification_head_tests"],
        message="attribute `self.linear`",
    ),
]
