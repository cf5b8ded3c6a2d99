"""Known-wrong answers to lesson 12 (fine-tuning): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_LAYER = (
    "class LoRALayer(nn.Module):\n"
    "    def __init__(self, base, r, alpha):\n"
    "        super().__init__()\n"
    "        self.base = base.requires_grad_(False)\n"
    "        self.r, self.alpha = r, alpha\n"
    "        self.lora_A = nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)\n"
    "        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))\n"
    "\n"
    "    def forward(self, x):\n"
)

_FORWARD = ["12_lora_forward_tests_init", "12_lora_forward_tests_scaling", "12_lora_forward_tests_hidden"]

CASES = [
    # --- LoRALayer.forward -------------------------------------------------------------------
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER + "        return self.base(x) + (x @ self.lora_A.T) @ self.lora_B.T\n",  # no alpha / r
        fails=["12_lora_forward_tests_scaling", "12_lora_forward_tests_hidden"],
        message="no alpha / r scaling",
        passes=["12_lora_forward_tests_init"],
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER
        + "        return self.base(x) + self.alpha * (x @ self.lora_A.T) @ self.lora_B.T\n",  # alpha, not alpha / r
        fails=["12_lora_forward_tests_scaling", "12_lora_forward_tests_hidden"],
        message="scaled by alpha, not alpha / r",
        passes=["12_lora_forward_tests_init"],
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER + "        return self.base(x) + (self.r / self.alpha) * (x @ self.lora_A.T) @ self.lora_B.T\n",
        fails=["12_lora_forward_tests_scaling", "12_lora_forward_tests_hidden"],
        message="upside down",
        passes=["12_lora_forward_tests_init"],
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER + "        return self.base(x) + (self.alpha // self.r) * (x @ self.lora_A.T) @ self.lora_B.T\n",
        fails=["12_lora_forward_tests_scaling", "12_lora_forward_tests_hidden"],
        message="integer division",
        passes=["12_lora_forward_tests_init"],
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER
        + "        return x @ self.base.weight.T + (self.alpha / self.r) * (x @ self.lora_A.T) @ self.lora_B.T\n",  # bias lost
        fails=_FORWARD,
        message="without its bias",
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER
        + "        return (self.alpha / self.r) * (x @ self.lora_A.T) @ self.lora_B.T\n",  # the frozen layer forgotten
        fails=_FORWARD,
        message="only the low-rank update",
    ),
    WrongAnswer(
        answer_id="12_lora_forward",
        source=_LAYER
        + "        return self.base(x) + (self.alpha / self.r) * ((x @ self.lora_A.T) @ self.lora_B.T).detach()\n",
        fails=["12_lora_forward_tests_hidden"],
        message="no gradient reached lora_A or lora_B",
        passes=["12_lora_forward_tests_init", "12_lora_forward_tests_scaling"],
    ),
    # --- lora_trainable ----------------------------------------------------------------------
    WrongAnswer(
        answer_id="12_lora_count",
        source="def lora_trainable(shapes, r):\n    return sum(r * d_out * d_in for d_out, d_in in shapes)\n",  # a full matrix times r
        fails=["12_lora_count_tests"],
        message="r * d_in + d_out * r",
    ),
    WrongAnswer(
        answer_id="12_lora_count",
        source="def lora_trainable(shapes, r):\n    return sum(r * d_in for d_out, d_in in shapes)\n",  # A only
        fails=["12_lora_count_tests"],
        message="r * d_in + d_out * r",
    ),
    WrongAnswer(
        answer_id="12_lora_count",
        source="def lora_trainable(shapes, r):\n    d_out, d_in = shapes[0]\n    return r * (d_in + d_out)\n",  # first layer only
        fails=["12_lora_count_tests", "12_lora_count_tests_hidden"],
        message="every wrapped layer",
    ),
    WrongAnswer(
        answer_id="12_lora_count",
        source="def lora_trainable(shapes, r):\n    return sum(r * (d_in + d_out) + d_out for d_out, d_in in shapes)\n",  # bias counted
        fails=["12_lora_count_tests", "12_lora_count_tests_hidden"],
        message="lora_trainable(",
    ),
]
