"""Is this an owner email we may write to? Syntax, and a domain that could receive mail,
as far as that can be told offline (no DNS lookup: the worker, the page and the import
must answer at once and the same way every time).

Refused: anything that is not one `local@domain` address (RFC 5321 lengths, a dot-atom
local part), IP-literal domains, single-label domains, bad labels, a top-level domain
that is not letters (or `xn--`), names that never deliver mail by standard
(`.invalid`, `.localhost`, `.local`, `.onion`, `.internal`, `.arpa`: RFC 2606/6761/
6762/7686) and well-known misspellings of the big mail providers ("did you mean").
`example.com` and `.test` pass: the demo and the tests write to them, and nothing is
sent to them outside Smartlead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
NEVER_DELIVERS = ("invalid", "localhost", "local", "onion", "internal", "arpa")
TYPOS = {
    "gmial.com": "gmail.com",
    "gmai.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gamil.com": "gmail.com",
    "gmail.co": "gmail.com",
    "gmail.con": "gmail.com",
    "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "yaho.com": "yahoo.com",
    "yahooo.com": "yahoo.com",
    "outlok.com": "outlook.com",
    "iclod.com": "icloud.com",
}


class InvalidEmail(ValueError):
    """The address cannot be written to; the message says why, for a person."""


@dataclass(frozen=True)
class CheckedEmail:
    address: str
    domain: str


def check_email(raw: str) -> CheckedEmail:
    """The normalised address (trimmed, domain lower case), or InvalidEmail with a reason."""
    text = raw.strip()
    if not text:
        raise InvalidEmail("the email is empty")
    if len(text) > 254:
        raise InvalidEmail("the email is longer than 254 characters")
    if text.count("@") != 1:
        raise InvalidEmail(f"{_show(text)} is not one address of the form name@domain")
    local, domain = text.split("@")
    domain = domain.lower().rstrip(".")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise InvalidEmail(f"the part before @ in {_show(text)} is not a valid mailbox name")
    _check_domain(domain, text)
    return CheckedEmail(address=f"{local}@{domain}", domain=domain)


def _check_domain(domain: str, text: str) -> None:
    if domain.startswith("[") or re.fullmatch(r"[0-9.]+", domain):
        raise InvalidEmail(f"{_show(text)} names an IP address, not a mail domain")
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidEmail(f"the domain of {_show(text)} has no top-level domain (like .com)")
    if not all(_LABEL.match(label) for label in labels) or len(domain) > 253:
        raise InvalidEmail(f"the domain of {_show(text)} is not a valid host name")
    if not _TLD.match(labels[-1]):
        raise InvalidEmail(f"the domain of {_show(text)} does not end in a real top-level domain")
    if labels[-1] in NEVER_DELIVERS:
        raise InvalidEmail(f"the domain .{labels[-1]} never receives mail")
    if domain in TYPOS:
        raise InvalidEmail(f"{domain} looks misspelled: did you mean {TYPOS[domain]}?")


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
