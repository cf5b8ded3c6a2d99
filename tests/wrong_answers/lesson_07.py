"""Known-wrong answers to lesson 07 (vision transformers): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_CHECKS = (
    "    if images.dim() != 4:\n"
    "        raise ValueError(f'images must have shape (batch, channels, H, W); got shape {tuple(images.shape)}')\n"
    "    B, C, H, W = images.shape\n"
    "    P = patch_size\n"
    "    if H % P or W % P:\n"
    "        raise ValueError(f'image of {H}x{W} pixels cannot be cut into {P}x{P} patches')\n"
)


def _patchify(body: str, checks: str = _CHECKS) -> str:
    return "def patchify(images, patch_size):\n" + checks + body


_ALL_PATCHIFY = [
    "07_patchify_tests_shape",
    "07_patchify_tests_order",
    "07_patchify_tests_embedding",
    "07_patchify_tests_errors",
]

CASES = [
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(  # patches numbered down the columns first
            "    x = images.reshape(B, C, H // P, P, W // P, P).permute(0, 4, 2, 1, 3, 5)\n"
            "    return x.reshape(B, (H // P) * (W // P), C * P * P)\n"
        ),
        fails=["07_patchify_tests_order", "07_patchify_tests_embedding"],
        message="column-major",
        passes=["07_patchify_tests_shape", "07_patchify_tests_errors", "07_sequence_length_tests"],
    ),
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(  # channels mixed in last: (row, col, channel) inside a patch
            "    x = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 3, 5, 1)\n"
            "    return x.reshape(B, (H // P) * (W // P), C * P * P)\n"
        ),
        fails=["07_patchify_tests_order", "07_patchify_tests_embedding"],
        message="channels last",
        passes=["07_patchify_tests_shape", "07_patchify_tests_errors"],
    ),
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(
            "    return images.reshape(B, (H // P) * (W // P), C * P * P)\n"
        ),  # no permute: strips of a row
        fails=["07_patchify_tests_order", "07_patchify_tests_embedding"],
        message="plain reshape",
        passes=["07_patchify_tests_shape", "07_patchify_tests_errors"],
    ),
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(  # each patch flattened column by column
            "    x = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 5, 3)\n"
            "    return x.reshape(B, (H // P) * (W // P), C * P * P)\n"
        ),
        fails=["07_patchify_tests_order", "07_patchify_tests_embedding"],
        message="column by column",
        passes=["07_patchify_tests_shape", "07_patchify_tests_errors"],
    ),
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(  # F.unfold is the exercise's twin: delegation, every test of it scores 0, as when graded
            "    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)\n", checks=""
        ),
        fails=[
            "07_patchify_tests_shape",
            "07_patchify_tests_order",
            "07_patchify_tests_embedding",
            "07_patchify_tests_errors",
        ],
        message="your answer called torch.nn.functional.unfold",
    ),
    WrongAnswer(
        answer_id="07_patchify",
        source=_patchify(  # a ValueError that does not say which sizes are wrong
            "    x = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)\n"
            "    return x.reshape(B, (H // P) * (W // P), C * P * P)\n",
            checks=(
                "    B, C, H, W = images.shape\n"
                "    P = patch_size\n"
                "    if H % P or W % P:\n"
                "        raise ValueError('the image size is not a multiple of the patch size')\n"
            ),
        ),
        fails=["07_patchify_tests_errors"],
        message="should mention",
        passes=["07_patchify_tests_shape", "07_patchify_tests_order", "07_patchify_tests_embedding"],
    ),
    WrongAnswer(
        answer_id="07_sequence_length",
        source="def vit_sequence_length(height, width, patch_size):\n    return (height // patch_size) * (width // patch_size)\n",
        fails=["07_sequence_length_tests"],
        message="class token",
        passes=_ALL_PATCHIFY,
    ),
    WrongAnswer(
        answer_id="07_sequence_length",
        source="def vit_sequence_length(height, width, patch_size):\n    return height * width // patch_size + 1\n",
        fails=["07_sequence_length_tests"],
        message="a patch covers",
    ),
]
