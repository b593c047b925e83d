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
# Words that sit between a number and "court" or "place" in a question, never in a street's
# name: "a 30 day limit in place", "2 hearings in family court", "a 60 day rule in place".
_NOT_STREET_NAME = (r"a|an|the|in|of|for|at|on|to|by|with|and|or|is|are|was|were|be|per|"
                    r"from|into|than|that|this|these|those|his|her|their|our|my|your|its|"
                    r"no|not|each|every|any|all|more|less|same|other|"
                    r"days?|weeks?|months?|years?|yrs?|hours?|hrs?|minutes?|mins?|nights?|"
                    r"times?|percent")
# "family court", "tribal court": the court, not a street called Family Court.
_COURT_KIND = (r"family|tribal|district|juvenile|probate|civil|criminal|supreme|appeals?|"
               r"appellate|municipal|county|federal|state|housing|drug|traffic|circuit|"
               r"superior|immigration|divorce|custody|dv|magistrate|bankruptcy|city|small\s+"
               r"claims|youth|dependency|trial|high|lower|local")
# Federal and agency forms ("HUD-5382", "SF-424", "DS-260", "I-360", "SSA-561"): named by the
# knowledge base itself, never an identifier.
_FORM = (r"(?:(?:HUD|SF|DS|I|N|G|AR|OF|SSA|IRS|W|DD|EOIR|CBP|FEMA|CMS|HHS|DOJ|OMB|USCIS|ETA|"
         r"DOL|VA|EEOC|OPM|SBA)-\d{1,5}[A-Z]{0,2}|I\d{2,3}[A-Z]?)(?![\w-])"
         r"|(?:1040|1098|1099|990|941|W)-[A-Z]{1,4}(?![\w-])")  # tax forms: "1099-MISC"
# A federal docket ("1:24-cv-01234", "2:23-cr-00123-JDP", "24-cv-01234"): division, year,
# case type, number, and sometimes a judge's initials.
_FEDERAL_CASE = (r"\b(?:\d{1,2}:)?\d{2}-(?:cv|cr|mj|mc|md|bk|ap|po|sw|hc|gj|dp|misc)-"
                 r"\d{3,6}(?:-[A-Za-z]{1,4})*\b|\b\d{1,2}:\d{2}-[A-Za-z]{2,4}-\d{3,6}"
                 r"(?:-[A-Za-z]{1,4})*\b")
# A short letter prefix before a case number ("OP 2025-2931", "DV-2026-00417"); an article or
# other function word before a number is not one ("case of 12-year-olds", "file a 209A").
_CASE_PREFIX = (r"(?:(?!(?:a|an|the|of|in|for|at|on|to|by|and|or|her|his|my|our)\s)"
                r"[A-Za-z]{1,4}[ -])")
# What follows the verbs "file", "claim", "record" and "cause" without "number", "no." or
# "#": only a case number's shape, a prefix and digits ("DV-2026-00417", "OP 2025-2715") or
# digits with letters inside ("2025-PO-7629", "26CV39031") or two groups of digits that are not
# a span of years ("op 2025-2715"), not "2023 taxes", "2023-2024 taxes" or "a 209A".
_CASE_SHAPE = (r"(?:(?:[A-Za-z]{1,4}-|(?-i:[A-Z]{1,4}) )(?=(?:[A-Za-z-]*\d){4})\d[\w-]*"
               r"|(?=(?:[A-Za-z-]*\d){5})\d[\w-]*[A-Za-z][\w-]*"
               rf"|{_CASE_PREFIX}?(?!(?:19|20)\d{{2}}-(?:19|20)?\d{{2}}\b)\d{{2,4}}-\d{{3,6}})"
               r"(?<=[A-Za-z0-9])\b")
# "555-123-4567x22", "ext. 22", " extension 4": the extension goes with the number.
_EXTENSION = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?\b"
# A number dialled from abroad: "+52 55 1234 5678", "+44 (0)20 7946 0958", 8 to 15 digits.
_INTERNATIONAL_PHONE = (r"(?<![\w+])\+(?=\d(?:[\s.()-]{0,3}\d){7,14}(?![\s.()-]{0,3}\d))"
                        rf"\d{{1,4}}(?:[\s.-]{{0,2}}\(?\d{{1,5}}\)?){{1,7}}{_EXTENSION}")
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
    # Before the card and social security shapes, which would take part of its digits.
    ("[PHONE]", re.compile(_INTERNATIONAL_PHONE, _I)),
    ("[CARD NUMBER]", re.compile(r"(?<![\d-])\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,7}\b"
                                 r"|(?<![\d-])\d{4}[ -]?\d{6}[ -]?\d{5}\b")),
    ("[DATE]", re.compile(r"\b(?:19|20)\d{2}-\d{1,2}-\d{1,2}\b")),
    ("[SSN]", re.compile(r"\b\d{3}[-. ]\d{2}[-. ]\d{4}\b|\b\d{9}\b"
                         r"|(?P<cue>\b(?:ssn|social|social security)(?:\s*(?:no\.?|number|#))?"
                         r"(?:\s*(?:is|:))?\s*)\d(?:[ -]?\d){8}\b", _I)),
    ("[PHONE]", re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?"
                           rf"\d{{4}}{_EXTENSION}|(?<![\w-])\d{{3}}[-.]\d{{4}}{_EXTENSION}", _I)),
    ("[DATE]", re.compile(rf"\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|\b(?:{_MONTHS})\.?\s+"
                          rf"\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"
                          rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b\.?,?\s+"
                          r"\d{4}\b", _I)),
    ("[ADDRESS]", re.compile(
        rf"(?:\b(?:{_UNIT})\.?\s*#?\s*[\w-]+,?\s+)?"
        rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:(?!(?:{_NOT_STREET_NAME})\b)"
        rf"(?!(?:{_COURT_KIND})\s+court\b)[A-Za-z0-9.'-]+\s+){{1,3}}(?:{_STREET})\b"
        rf"\.?(?:,?\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?(?:,?\s*(?:{_UNIT})\.?\s*#?\s*[\w-]+)?"
        r"|\bP\.?\s?O\.?\s+box\s+\d+\b", _I)),
    ("[CASE NUMBER]", re.compile(
        # "case 2025-PO-7629", "docket # 26-CV-3381", "file no. DV-2026-00417"; the verbs
        # "file", "claim", "record" and "cause" only with "number"/"no."/"#"/":" after them.
        r"\b(?:(?:case|docket|dockket)\s*(?:(?:no\.|no\b|number\b|num\b|#)\s*)?[:#]?"
        r"|(?:file|record|claim|cause)\s*(?:(?:no\.|no\b|number\b|num\b|#)\s*[:#]?|:))"
        rf"\s*(?:(?:is|was)\s+)?(?:{_FEDERAL_CASE}|(?!{_FORM}){_CASE_PREFIX}?(?=[\w-]*\d)"
        rf"(?!{_FORM})"  # a form ("file an I-360", "case HUD-5382"), not an identifier
        r"[A-Za-z0-9][A-Za-z0-9-]{3,}\b)"
        # "file DV-2026-00417", "her federal case 2:23-cr-00123", "docket 1:24-cv-01234".
        rf"|\b(?:file|record|claim|cause)\s+(?:(?:is|was)\s+)?(?!{_FORM}){_CASE_SHAPE}"
        rf"|{_FEDERAL_CASE}", _I)),
    ("[PLATE]", re.compile(
        r"\b(?:plates?|pltae|plaet|tags?|license|licence|lic)\b\s*(?:no\.?|number|#|plate)?"
        r"\s*[:#]?\s*(?:(?:is|was|reads)\s+)?"
        r"(?=[A-Za-z]{0,4}[ -]?\d)(?=[A-Za-z0-9-]*[A-Za-z]|[A-Za-z]{1,4}[ -])[A-Za-z0-9]{1,4}"
        r"(?:[ -](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{2,8}|[A-Za-z0-9-]{2,8})\b", _I)),
    # Any code mixing capitals and digits: case numbers, plates, record ids ("26CV04041").
    # Not a form the knowledge base names ("HUD-5382", "SF-424", "DS-260").
    ("[ID]", re.compile(rf"\b(?!{_FORM})(?=[A-Z0-9-]*\d[A-Z0-9-]*\d)"
                        r"(?=[A-Z0-9-]*[A-Z][A-Z0-9-]*[A-Z])"
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
