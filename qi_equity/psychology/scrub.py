"""Remove what identifies a person from free text before it is quoted.

:func:`scrub` replaces, in this order:
- e-mail addresses, with ``[e-mail]``;
- NHS numbers, with ``[NHS number]``. Any run of 10 digits, or the 3-3-4 layout with spaces or
  hyphens, is replaced whether or not its check digit is valid: a mistyped number still points
  at a person;
- UK phone numbers, with ``[phone]``. These are ``+44`` or ``0`` and 9-10 more digits, with
  spaces, hyphens or brackets (international ones before NHS numbers, since ``+44 113 496 0000``
  holds ten digits);
- full UK postcodes, with ``[postcode]``. The outward part alone, such as ``LS6``, is left: it
  names an area of thousands;
- names, with ``[name]``, found in three ways:
  - after a title (Mr, Mrs, Ms, Miss, Dr, Prof, Nurse, Sister);
  - after "my name is", "I'm called", "called" or "named";
  - after a family word ("my son", "my wife" ...) when a capitalised word follows.

  Any names the caller lists (staff, places) are replaced too.

Names in free text cannot all be found by rules: a quote is published only from a group at or
above the suppression threshold, after this scrubber, and a person reads every quote before a
report goes out (docs/engagement.md).

References
----------
.. [1] NHS Digital. *NHS Number* (10 digits; the tenth is a modulus-11 check digit).
.. [2] Royal Mail. *Postcode Address File programmers' guide* (the postcode formats:
       A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA).
.. [3] Information Commissioner's Office (2012). *Anonymisation: managing data protection risk
       code of practice* (direct identifiers removed before publication).
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
NHS_NUMBER = re.compile(r"(?<!\d)(?:\d{3}[ \-]?\d{3}[ \-]?\d{4})(?!\d)")
PHONE_INTL = re.compile(r"\+44\s?(?:\(0\)\s?)?(?:\d[\s\-]{0,2}){8,10}\d(?!\d)")
PHONE = re.compile(r"(?<![\w+])\(?0(?:\d[\s\-\)]{0,2}){8,10}\d(?!\d)")
POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|[A-Z]{1,2}\d)\s*\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_CAP = r"[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?"
TITLED = re.compile(rf"\b(Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Nurse|Sister)\.?\s+{_CAP}")
INTRODUCED = re.compile(rf"\b((?:[Mm]y name is|I'm called|I am called|[Cc]alled|[Nn]amed)\s+){_CAP}")
FAMILY = re.compile(rf"\b([Mm]y\s+(?:son|daughter|husband|wife|partner|mum|mother|dad|father|brother|sister|"
                    rf"friend|carer|neighbour|grandson|granddaughter|nan|gran)\s+){_CAP}")
TOKENS = ("[e-mail]", "[NHS number]", "[phone]", "[postcode]", "[name]")


def scrub(text, names=()) -> str:
    """``text`` with e-mail addresses, NHS numbers, phone numbers, postcodes and names replaced
    (see the module docstring); ``names``: further words to replace, such as staff names."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = str(text)
    s = EMAIL.sub("[e-mail]", s)
    s = PHONE_INTL.sub("[phone]", s)  # before NHS numbers: +44 113 496 0000 holds ten digits
    s = NHS_NUMBER.sub("[NHS number]", s)
    s = PHONE.sub("[phone]", s)
    s = POSTCODE.sub("[postcode]", s)
    s = TITLED.sub(lambda m: m.group(1) + " [name]", s)
    s = INTRODUCED.sub(lambda m: m.group(1) + "[name]", s)
    s = FAMILY.sub(lambda m: m.group(1) + "[name]", s)
    for n in sorted({str(n).strip() for n in names if str(n).strip()}, key=len, reverse=True):
        s = re.sub(rf"\b{re.escape(n)}\b", "[name]", s, flags=re.IGNORECASE)
    return s


def has_identifier(text) -> bool:
    """Whether ``text`` still holds an e-mail address, an NHS number, a phone number or a postcode
    (the checks the audit of published quotes runs)."""
    s = "" if text is None else str(text)
    return any(p.search(s) for p in (EMAIL, PHONE_INTL, NHS_NUMBER, PHONE, POSTCODE))


__all__ = ["scrub", "has_identifier", "TOKENS"]
