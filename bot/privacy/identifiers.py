"""Identifiers that have a shape: numbers, codes, addresses, links. Each kind has its own
placeholder, so staff reading "[NAME]'s [A-NUMBER] is on the I-360" still follow the question.

Order matters: a pattern runs on what the ones before it left, so the specific shapes (an
A-number, a USCIS receipt number, a number after "passport") come before the general ones (nine
digits as a social security number, any code of capitals and digits). Every pattern accepts the
spaced, dashed and lower-case forms advocates type ("a 123 456 789", "eac-21-900-12345").
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_STREET = (
    r"street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|"
    r"circle|cir|highway|hwy|parkway|pkwy|terrace|ter|trail|trl|route|rte|loop|row|square|sq|"
    r"pike|alley|aly|crossing|xing|ridge|heights|hts|hollow"
)
_UNIT = r"apt|apartment|unit|suite|ste|lot|trlr|trailer|rm|room|fl|floor|bldg|building|spc|space|#"
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_NUMBER_WORD = r"(?:no\.?|nos?\b|number|num|#|id|ident)"
# Digits in groups, as typed: "123456789", "123-456-789", "123 456 789".
_GROUPED = r"\d(?:[ -]?\d)"
# A code after a cue: a short letter prefix at most, then digits and letters in dashed or
# spaced groups ("X1234567", "D123-4567-8901", "MCD 884 20 1177"), five characters or more.
_CODE = (r"(?=(?:[A-Za-z0-9][ -]?){5})(?:[A-Za-z]{1,4}[ -]?)?\d[A-Za-z0-9]*"
         r"(?:[ -][A-Za-z0-9]*\d[A-Za-z0-9]*)*")


def _cued(cue: str, value: str = _CODE) -> re.Pattern[str]:
    """A value after a cue and an optional "number"/"#"/"is"/":" ("passport no. X12345")."""
    return re.compile(rf"(?P<cue>\b(?:{cue})(?:'?s)?(?:\s*{_NUMBER_WORD})?(?:\s*(?:is|was|:|#))?"
                      rf"\s*)(?:{value})\b", _I)


SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    # "@jolene_b_88", "venmo @tam-ok", "cashapp $tamok91": an account someone can be found by.
    ("[HANDLE]", re.compile(r"(?<![\w.+@-])@[A-Za-z0-9_](?:[\w.-]*[A-Za-z0-9_])?"
                            r"|(?<![\w$])\$[A-Za-z][\w-]*\d[\w-]*|(?<![\w$])\$[A-Za-z][\w-]{5,}")),
    ("[URL]", re.compile(r"(?:\bhttps?://|\bwww\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|"
                         r"gov|edu|io|me|us|co|app|info|biz|ly|tv)/[^\s)\]\"']+", _I)),
    ("[IP ADDRESS]", re.compile(
        r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"
        r"|(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])"
        r"|(?<![\w:])(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?(?![\w:])",
        _I)),
    ("[COORDINATES]", re.compile(
        r"[-+]?\b\d{1,2}\.\d{3,}\s*°?\s*[NS]?\s*[,/ ]\s*[-+]?\d{1,3}\.\d{3,}\b\s*°?\s*[EW]?\b"
        r"|\b\d{1,2}\s*°\s*\d{1,2}\s*['′]\s*(?:\d{1,2}(?:\.\d+)?\s*[\"″]\s*)?[NS]"
        r"\s*,?\s*\d{1,3}\s*°\s*\d{1,2}\s*['′]\s*(?:\d{1,2}(?:\.\d+)?\s*[\"″]\s*)?[EW]\b", _I)),
    ("[A-NUMBER]", re.compile(
        r"\bA\s?[-#:.]?\s?\d{2,3}[ -]?\d{3}[ -]?\d{3}\b"
        r"|(?P<cue>\b(?:a-number|a number|anumber|a#|alien number|alien no|alien registration|"
        r"alien registration number|uscis number|uscis #|uscis no)"
        r"(?:\s*(?:is|was|:|#|\.))*\s*)A?[-#]?\s?\d{2,3}[ -]?\d{3}[ -]?\d{3}\b", _I)),
    ("[RECEIPT NUMBER]", re.compile(
        r"\b(?:EAC|WAC|LIN|SRC|NBC|MSC|IOE|YSC|NSC|TSC|VSC|CSC|ZLA|ZSF|ZNY|ZHN)"
        r"[ -]?\d{2}[ -]?\d{3}[ -]?\d{5}\b|\b[A-Z]{3}\d{10}\b"
        r"|(?P<cue>\breceipt(?:\s*(?:no\.?|number|#))?(?:\s*(?:is|:))?\s*)[A-Z]{3}[ -]?\d{2}[ -]?"
        r"\d{3}[ -]?\d{5}\b", _I)),
    ("[I-94 NUMBER]", re.compile(
        r"\b\d{9}\s?[A-Z]\d\b|\b\d{3}[ -]\d{3}[ -]\d{3}[ -]?[A-Z]\d\b"
        r"|(?P<cue>\b(?:i-94|i94|i 94|admission)(?:\s*(?:record|number|no\.?|#))*"
        r"(?:\s*(?:is|:))?\s*)(?:\d(?:[ -]?[A-Z0-9]){10})\b", _I)),
    ("[PASSPORT NUMBER]", _cued(r"passport|pasport|passprt")),
    ("[LICENSE NUMBER]", _cued(
        r"driver'?s?\s+licen[cs]e|drivers\s+lic|driving\s+licen[cs]e|\bDL|d/l|"
        r"licen[cs]e\s+(?:no\.?|number|#)|state\s+id|id\s+card")),
    ("[MEMBER ID]", _cued(
        r"medicaid|medicare|insurance|insurance\s+(?:card|member|policy)|member|policy|"
        r"subscriber|group|chip|ebt|snap|wic|tanf|benefits|health\s+plan|bcbs|mco")),
    ("[ACCOUNT NUMBER]", _cued(
        r"account|acct|acc|routing|aba|checking|savings|bank|iban|card\s+ending\s+in|"
        r"ending\s+in", value=r"\d(?:[ -]?\d){3,16}")),
    ("[BADGE NUMBER]", _cued(r"badge|shield|officer|deputy|trooper|employee\s+id",
                             value=r"\d(?:[ -]?\d){2,9}")),
    ("[CARD NUMBER]", re.compile(r"(?<![\d-])\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,7}\b"
                                 r"|(?<![\d-])\d{4}[ -]?\d{6}[ -]?\d{5}\b")),
    ("[DATE]", re.compile(r"\b(?:19|20)\d{2}-\d{1,2}-\d{1,2}\b")),
    ("[SSN]", re.compile(r"\b\d{3}[-. ]\d{2}[-. ]\d{4}\b|\b\d{9}\b"
                         r"|(?P<cue>\b(?:ssn|social|social security)(?:\s*(?:no\.?|number|#))?"
                         r"(?:\s*(?:is|:))?\s*)\d(?:[ -]?\d){8}\b", _I)),
    ("[PHONE]", re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?"
                           r"\d{4}\b|(?<![\w-])\d{3}[-.]\d{4}\b")),
    ("[DATE]", re.compile(rf"\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\b(?:{_MONTHS})\.?\s+"
                          rf"\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", _I)),
    ("[ADDRESS]", re.compile(
        rf"(?:\b(?:{_UNIT})\.?\s*[\w-]+,?\s+)?"
        rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Za-z0-9.'-]+\s+){{1,3}}(?:{_STREET})\b"
        rf"\.?(?:,?\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?(?:,?\s*(?:{_UNIT})\.?\s*[\w-]+)?"
        r"|\bP\.?\s?O\.?\s+box\s+\d+\b", _I)),
    ("[CASE NUMBER]", re.compile(
        r"\b(?:case|docket|dockket|file|record|claim|cause)\s*(?:no\.?|number|num|#)?"
        r"\s*[:#]?\s*(?:(?:is|was)\s+)?(?:[A-Za-z]{1,4}[ -])?(?=[\w-]*\d)"
        r"(?!I-?\d{2,3}[A-Z]?\b)"  # a USCIS form ("file an I-360"), not an identifier
        r"[A-Za-z0-9][A-Za-z0-9-]{3,}\b", _I)),
    ("[PLATE]", re.compile(
        r"\b(?:plates?|pltae|plaet|tags?|license|licence|lic)\b\s*(?:no\.?|number|#|plate)?"
        r"\s*[:#]?\s*(?:(?:is|was|reads)\s+)?"
        r"(?=[A-Za-z]{0,4}[ -]?\d)(?=[A-Za-z0-9-]*[A-Za-z]|[A-Za-z]{1,4}[ -])[A-Za-z0-9]{1,4}"
        r"(?:[ -](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{2,8}|[A-Za-z0-9-]{2,8})\b", _I)),
    # Any code mixing capitals and digits: case numbers, plates, record ids ("26CV04041").
    ("[ID]", re.compile(r"\b(?=[A-Z0-9-]*\d[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z][A-Z0-9-]*[A-Z])"
                        r"[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b(?=[A-Z0-9]*\d[A-Z0-9]*\d)"
                        r"(?=[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z])[A-Z0-9]{5,12}\b")),
]

_SCHOOL_WORD = (r"elementary|elem|middle|junior high|high school|high|academy|school|prep|"
                r"preparatory|montessori|charter|primary|intermediate|k-8|preschool|"
                r"head start|daycare|day care")
_GENERIC = (r"a|an|the|our|his|her|their|my|that|this|same|new|public|private|local|online|"
            r"summer|sunday|boarding|regular|virtual|church|school|daycare|therapy|meetings?")
WITHOUT_DIGITS = frozenset({"[EMAIL]", "[HANDLE]", "[URL]", "[SCHOOL]"})  # need no digit
_LEAD = r"(?!(?:The|Our|His|Her|Their|A|An|This|That|Which|What|Local|Public|Private)\b)"
# "attends Lincoln Elementary", "goes to westbrook middle", "Cottonwood high school": the
# school, which says where a child is every weekday.
SCHOOL = re.compile(
    r"(?P<cue>\b(?i:attends|attending|attended|enrolled at|enrolled in|student at|students at|"
    r"transferred to|transfer to|pick(?:s|ed)? (?:him|her|them) up at|pick up at)\s+)"
    rf"(?:(?!(?i:{_GENERIC})\b)(?:[A-Za-z][\w.'’-]*\s+){{1,3}}(?i:{_SCHOOL_WORD})\b"
    r"|[A-Z][a-z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})"
    rf"|(?P<go>\b(?i:go|goes|going|went|gone) to\s+)(?!(?i:{_GENERIC})\b)"
    rf"(?:[A-Za-z][\w.'’-]*\s+){{1,3}}(?i:{_SCHOOL_WORD})\b"
    rf"|\b{_LEAD}(?:[A-Z][\w.'’-]*\s+){{1,3}}(?i:elementary|middle school|high school|academy|"
    r"montessori|preparatory|primary school|intermediate school|junior high)\b")
