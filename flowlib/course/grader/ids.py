"""Who and when, as nbgrader spells them: a learner's id and a submission's time.

An id is the name of a learner's folder under ``submitted/`` and the id nbgrader records;
:func:`canonical_id` is the one spelling an import stores, and :func:`learner_key` what makes two
spellings one learner. A time is nbgrader's ``timestamp.txt`` (UTC), read back in any zone.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from dateutil import parser as dateparser
from dateutil import tz

TIMESTAMP_FILE = "timestamp.txt"  # written by `nbgrader submit`, read by `nbgrader collect`
NBGRADER_TIME = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's default Exchange.timestamp_format
FORBIDDEN_IN_IDS = "*+"  # nbgrader refuses these in student ids (exchange file names, globs)
MAX_ID_BYTES = 128  # an id is a folder name (255 bytes) and part of the exchange's folder names
# the Latin letters the accent-less ids of earlier imports spelled otherwise (ascii_folded_id)
_TRANSLITERATE = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


def canonical_id(raw: str) -> str:
    """The id an import stores: the name in lower case, its letters as they are, in every script.

    Accents and marks stay (``José`` -> ``josé``, ``Đặng Thị`` -> ``đặng_thị``, ``李华``,
    ``Ελένη`` -> ``ελένη``, ``مُحَمَّد``); a name typed with combining accents and the same name
    typed precomposed are one id (NFKC, then ``casefold``, then NFC). Runs of spaces and other
    symbols become ``_``. ``ValueError`` for an id with no letter or digit, or one longer than
    :data:`MAX_ID_BYTES` in UTF-8 (a folder name, and nbgrader's exchange adds its own parts).
    """
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", raw).casefold())
    # letters and digits of every script with their marks (an accent, a vowel sign, a virama), and . - _
    spelled = "".join(
        ch if ch.isalnum() or ch in "._-" or unicodedata.category(ch).startswith("M") else " " for ch in text
    )
    text = "_".join(spelled.split()).strip("._-")
    if not text:
        raise ValueError(f"the id {raw!r} has no letters or digits")
    if len(text.encode()) > MAX_ID_BYTES:
        raise ValueError(f"the id {raw!r} is longer than {MAX_ID_BYTES} bytes in UTF-8")
    return text


def ascii_folded_id(raw: str) -> str | None:
    """The id intake stored before ids kept their accents (``José`` -> ``jose``, ``Đặng`` ->
    ``dang``; other scripts as :func:`canonical_id`): a learner stored so is still found. None
    when that spelling has no letter or digit."""
    kept, latin = [], False
    for ch in unicodedata.normalize("NFKD", raw.strip().casefold().translate(_TRANSLITERATE)):
        if not unicodedata.combining(ch):
            latin = ch.isascii()
        if not (latin and unicodedata.combining(ch)):  # an accent on a Latin letter went
            kept.append(ch)
    try:
        return canonical_id("".join(kept))
    except ValueError:
        return None


def learner_key(name: str) -> str:
    """What makes two ids the same learner: equal canonical ids (case, spaces, Unicode form)."""
    try:
        return canonical_id(name)
    except ValueError:
        return " ".join(name.split()).casefold()


def parse_timestamp(text: str) -> datetime:
    """nbgrader's timestamp text (``2024-03-01 12:00:00.000000 UTC``, any zone name or offset,
    or ISO 8601) as an aware UTC datetime; ``ValueError`` if it is none of those."""
    parts = text.split()
    zone = None
    if len(parts) == 3 and parts[2].isalpha():  # nbgrader's "%Z": a zone name such as UTC
        zone = tz.gettz(parts[2])
        if zone is None:
            raise ValueError(f"unknown time zone {parts[2]!r}")
        text = " ".join(parts[:2])
    when = dateparser.parse(text)
    return (when if when.tzinfo else when.replace(tzinfo=zone or UTC)).astimezone(UTC)


def format_timestamp(when: datetime) -> str:
    """``when`` as nbgrader writes ``timestamp.txt``."""
    return when.astimezone(UTC).strftime(NBGRADER_TIME)


def folder_timestamp(folder: Path, notebook: Path | None) -> tuple[datetime | None, str | None]:
    """The time of a submission folder (``timestamp.txt``, else the notebook's mtime), and a
    note when ``timestamp.txt`` was there but unreadable."""
    stamp = folder / TIMESTAMP_FILE
    note = None
    if stamp.is_file():
        try:
            return parse_timestamp(stamp.read_text(encoding="utf-8", errors="replace")), None
        except (ValueError, OverflowError):
            note = f"{stamp} is not a timestamp; used the notebook's modification time"
    target = notebook if notebook is not None else folder
    return datetime.fromtimestamp(target.stat().st_mtime, UTC), note
