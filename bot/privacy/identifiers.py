"""Identifiers that have a shape: numbers, codes, addresses, links. Each kind has its own
placeholder, so staff reading "[NAME]'s [A-NUMBER] is on the I-360" still follow the question.

Order matters: a pattern runs on what the ones before it left, so the specific shapes (an
A-number, a USCIS receipt number, a number after "passport") come before the general ones (nine
digits as a social security number, any code of capitals and digits). Every pattern accepts the
spaced, dashed and lower-case forms advocates type ("a 123 456 789", "eac-21-900-12345").

A pattern that costs tens of microseconds a message and rarely matches (a spelled-out e-mail, a
handle after its platform, a phone without its dash, a ZIP code) is tried only when a test that
costs a few finds what it needs (GATES).
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


# An e-mail address spelled out so that filters miss it: "jane dot doe at gmail dot com",
# "jdoe (at) gmail.com". Only with a spoken "dot" before the ending, or a bracketed "at":
# "look at thehotline.org" is a link, not an address.
_SPOKEN_DOT = r"(?:\s+dot\s+|\s*[(\[{<]\s*dot\s*[)\]}>]\s*)"
_MAIL_END = r"(?:com|net|org|edu|gov|us|co|io|me|info|biz)\b"
_LOCAL_PART = (rf"\b(?>[\w+-]+)(?:(?:{_SPOKEN_DOT}|\s+(?:underscore|dash)\s+|[._-])"
               r"(?>[\w+-]+))*")
_SPELLED_EMAIL = (rf"{_LOCAL_PART}(?:\s+at\s+(?>[\w-]+)(?:(?:{_SPOKEN_DOT}|\.)(?>[\w-]+))*?"
                  rf"{_SPOKEN_DOT}{_MAIL_END}|\s*[(\[{{<]\s*at\s*[)\]}}>]\s*(?>[\w-]+)"
                  rf"(?:(?:{_SPOKEN_DOT}|\.)(?>[\w-]+))*?(?:{_SPOKEN_DOT}|\.){_MAIL_END})")
# A handle after the platform it is on: "insta jane_doe88", "snap: janedoe22", "her ig is
# jane.doe". Shaped like a handle (a digit, an underscore or a dot inside), so "snap
# benefits", "the IG report" and "fb group" stay; after "username" or "handle is", any word.
_PLATFORM = (r"insta|instagram|ig|snap|snapchat|tiktok|tik\s+tok|twitter|fb|facebook|messenger|"
             r"threads|telegram|kik|discord|whatsapp|venmo|cash\s*app|zelle|paypal|onlyfans|"
             r"reddit|youtube|twitch|tumblr|pinterest|linkedin|tinder|bumble|hinge|grindr|"
             r"xbox|psn|roblox")
_HANDLE_SHAPE = (r"(?=[A-Za-z_][\w.]*?(?:\d|_|[A-Za-z0-9]{2}\.[A-Za-z0-9]{2}))"
                 r"[A-Za-z_][\w.]*[A-Za-z0-9_]")
_USERNAME_WORDS = r"user\s?name|screen\s?name|gamer\s?tag"
_USERNAME = rf"{_USERNAME_WORDS}|handle(?=\s+is\b|\s*:)"
# What follows "her username is" when it is no username: "the same", "not", "changed".
_NOT_A_HANDLE = (r"is|was|the|a|an|her|his|their|my|our|and|or|not|still|also|now|just|same|"
                 r"different|unknown|private|public|changed|hacked|deleted|blocked|so|that|on|in")
# Words before a phone number typed without its dash: "call her at", "cell #", "her number is",
# "reach her at". Not a bare "at" or "reach": "spending is at 2500000", "reach 2000000 survivors".
_PHONE_CUE = (r"\b(?:call|calls|called|calling|text|texts|texted|txt|phone|ph|cell|mobile|tel|"
              r"dial|reach(?:ed)?(?=(?:\s+(?:her|him|them|me|us))?\s+(?:at|on)\b)|"
              r"(?:her|his|my|their|new|old|home|work)\s+(?:number|num))\b"
              r"(?:\s+number)?(?:\s+(?:her|him|them|me|us|back))?(?:\s+(?:at|on|is|was)\b|\s*[:#])?"
              r"\s*")
# A ZIP code, where one is meant: after "zip" or "postal code", after a state ("Fargo, ND
# 58102", "bismarck nd 58501", "Fargo, North Dakota 58102"), or closing a street address
# ("12 Oak St Fargo 58102"). Five digits alone are not one: "42 U.S.C. 10406", "28 CFR
# 94.115", "$5000", "2023" stay.
STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR|GU|VI|AS|MP"
)
# State codes that are also English words ("in", "or", "me") take a ZIP code only after a comma
# or, in capitals, a capitalised word ("Portland OR 97201"): not "the IN 46204 office".
_WORD_STATE_CODES = r"al|as|co|de|hi|id|in|la|ma|me|mo|ms|mt|ne|oh|ok|or|pa|va|wa|ga|ar|mp"
_STATE_NAMES = (r"alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|"
                r"florida|georgia|hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|"
                r"maine|maryland|massachusetts|michigan|minnesota|mississippi|missouri|montana|"
                r"nebraska|nevada|new\s+hampshire|new\s+jersey|new\s+mexico|new\s+york|"
                r"(?:north|south)\s+(?:carolina|dakota)|ohio|oklahoma|oregon|pennsylvania|"
                r"rhode\s+island|tennessee|texas|utah|vermont|(?:west\s+)?virginia|washington|"
                r"wisconsin|wyoming|puerto\s+rico")
_ZIP = r"\d{5}(?:-\d{4})?(?![\w.,-]*\d)"
# What is counted, not dialled or mailed to: "reach 2000000 survivors", "Ohio 45000 in match".
_COUNTED = (r"advocates?|survivors?|victims?|clients?|people|persons?|families|households?|"
            r"children|kids|women|men|youth|staff|members?|programs?|shelters?|meals?|nights?|"
            r"beds?|calls?|texts?|hours?|days?|weeks?|months?|years?|times|visits?|dollars?|"
            r"usd|bucks|cents")
# After a state, five digits are an amount when a count or "for", "or", "in" follows ("In
# California 50000 advocates", "Virginia 75000 for audits", "Texas 75000 or 750000"); with no
# comma before the state they are a ZIP code only at the end of a clause ("bismarck nd 58501",
# "fargo nd 58102, she said"), not in "in texas 75001 was the old limit".
_NOT_COUNTED = rf"(?!\s+(?i:{_COUNTED}|for|or|in|per|of|to|than)\b)"
_CLAUSE_END = r"(?=\s*(?:$|[.,;:!?)\]\n]))"
# Capitalised words that open a sentence, not a town before a state code: "In TX 75000".
_NOT_TOWN_CAPS = r"In|At|On|For|Of|Across|From|To|And|Or|The|Our|Their|All|By|With|Is|Are"
# Words that put a number after an address in a question, not a ZIP code: "[ADDRESS] under
# section 10406".
_NOT_TOWN = (r"section|sec|title|part|chapter|form|grant|award|case|docket|room|usc|cfr|code|"
             r"and|or|of|for|to|by|under|per|than|since|about|is|was|are|costs?|pays?|owes?")

SPELLED_EMAIL = re.compile(_SPELLED_EMAIL, _I)
# Seven digits are a local number: dashed or dotted anywhere ("555-0100", the pattern after
# the social security one); run together or spaced only after a cue ("call her at 5550100",
# "her cell is 555 0100", spaced after "at": "maria at 555 0100"): "she makes 3500000 a year",
# "case number 2345678" and "we called 2500000 households" are no phones.
_PHONE_END = rf"{_EXTENSION}(?![ .,-]?\d)(?!\s*(?:{_COUNTED})\b)"
CUED_LOCAL_PHONE = re.compile(rf"(?P<cue>{_PHONE_CUE}|\bat\s+(?=\d{{3}} ))[2-9]\d{{2}} ?\d{{4}}"
                              rf"{_PHONE_END}", _I)
# "my client maria at 5550100": seven digits run together after a bare "at" are a phone only
# when the message also speaks of calling (GATES); "the award is at 2500000" is an amount.
AT_LOCAL_PHONE = re.compile(rf"(?P<cue>\bat\s+)[2-9]\d{{6}}{_PHONE_END}", _I)
_CALLING = re.compile(r"\b(?:call|calls|called|calling|text|texts|texted|texting|txt|phone|"
                      r"cell|mobile|tel|dial|reach|reached|(?:her|his|my|their|new|old|home|"
                      r"work)\s+(?:number|num))\b", _I)
CUED_HANDLE = re.compile(
    rf"(?P<cue>\b(?i:{_PLATFORM})\b(?:'?s)?(?:\s+(?i:handle|user\s?name|name|account|acct|id|"
    rf"profile|page))?(?:\s+(?i:is|was)\b|\s*[:=])?\s*){_HANDLE_SHAPE}\b"
    rf"|(?P<go>\b(?i:{_USERNAME})(?:'?s)?\s+){_HANDLE_SHAPE}\b"
    rf"|(?P<named>\b(?i:{_USERNAME})(?:'?s)?(?:\s+(?i:is|was)\b|\s*[:=])\s*)"
    rf"(?!(?i:{_NOT_A_HANDLE})\b)[A-Za-z0-9_][\w.]*[A-Za-z0-9_]")
ZIP_CODE = re.compile(
    rf"(?P<cue>\b(?i:zip|zipcode|zip\s+code|postal\s+code|postcode)(?:'?s)?"
    rf"(?:\s*(?i:is|was|:|#|-))?\s*){_ZIP}"
    rf"|(?P<go>(?:\b(?!(?:{_NOT_TOWN_CAPS})\b)[A-Z][\w'’-]*|\]),?\s+(?:{STATE_CODES}),?\s+"
    rf"|(?<=[A-Za-z\]]),\s+(?i:{STATE_CODES}|{_STATE_NAMES}),?\s+){_ZIP}{_NOT_COUNTED}"
    rf"|(?P<loose>(?<=[A-Za-z\]])\s+(?!(?i:{_WORD_STATE_CODES})\b)"
    rf"(?i:{STATE_CODES}|{_STATE_NAMES}),?\s+){_ZIP}{_CLAUSE_END}"
    rf"|(?P<tail>\[ADDRESS\](?:,?\s+(?!(?i:{_NOT_TOWN})\b)[A-Za-z][A-Za-z.'’-]*){{0,4}}"
    rf",?\s+){_ZIP}")

_LETTERS = re.compile(r"[a-z]+")
_SPACE = re.compile(r"\\s[*+?]")
# A word that starts a platform or "username" cue, written as one word or two ("cashapp", "cash
# app"): without one, the handle pattern has nothing to follow.
_HANDLE_CUES = frozenset(_LETTERS.findall(form)[0]
                         for cue in f"{_PLATFORM}|{_USERNAME_WORDS}|handle".split("|")
                         for form in (_SPACE.sub(" ", cue), _SPACE.sub("", cue)))
_BRACKETED_AT = re.compile(r"[(\[{<]\s*at\s*[)\]}>]", _I)
_SEVEN_DIGITS = re.compile(r"[2-9]\d\d ?\d{4}")
_FIVE_DIGITS = re.compile(r"\d{5}")


def _names_a_platform(text: str) -> bool:
    return not _HANDLE_CUES.isdisjoint(_LETTERS.findall(text.lower()))


def _spells_an_address(text: str) -> bool:
    return "dot" in text.lower() or _BRACKETED_AT.search(text) is not None


# What a costly pattern needs before it is worth trying.
GATES: dict[re.Pattern[str], Callable[[str], bool]] = {
    SPELLED_EMAIL: _spells_an_address,
    CUED_HANDLE: _names_a_platform,
    CUED_LOCAL_PHONE: lambda text: _SEVEN_DIGITS.search(text) is not None,
    AT_LOCAL_PHONE: lambda text: (_SEVEN_DIGITS.search(text) is not None
                                  and _CALLING.search(text) is not None),
    ZIP_CODE: lambda text: _FIVE_DIGITS.search(text) is not None,
}


def _cued(cue: str, value: str = _CODE) -> re.Pattern[str]:
    """A value after a cue and an optional "number"/"#"/"is"/":" ("passport no. X12345")."""
    return re.compile(rf"(?P<cue>\b(?:{cue})(?:'?s)?(?:\s*{_NUMBER_WORD})?(?:\s*(?:is|was|:|#))?"
                      rf"\s*)(?:{value})\b", _I)


SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[EMAIL]", SPELLED_EMAIL),
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
    # After the member and account numbers: "snap 12345678" is a SNAP card, not a handle.
    ("[HANDLE]", CUED_HANDLE),
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
    ("[PHONE]", CUED_LOCAL_PHONE),
    ("[PHONE]", AT_LOCAL_PHONE),
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
    ("[ZIP CODE]", ZIP_CODE),
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
