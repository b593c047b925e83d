"""Redaction of identifying details before anything is stored, logged or forwarded.

Advocates type real details into chat ("my client ... at 12 Oak St"). Every path out of the
core (database, logs, staff, other platforms) goes through `redact()` first. Typed placeholders
keep the question readable: "[NAME] in [PLACE] has an [A-NUMBER] and needs a PO".

Two layers:
* identifiers with a shape (bot/privacy/identifiers.py): phones, e-mails, handles, A-numbers,
  USCIS receipt and I-94 numbers, passport, licence, member, card and account numbers, IP
  addresses, coordinates, street addresses, ZIP codes, schools, dates, case numbers, plates,
  links, also as spoken ("jane dot doe at gmail dot com", "call her at 555 0100");
* names and places, which have no shape, decided from data (bot/privacy/lexicon.py): the SSA
  first-name and Census surname lists say how strongly a word is a name, the Census gazetteer
  whether it is a place, and SCOWL how common an English word it is. A word the knowledge base
  or the domain lexicon uses (VAWA, subpoena, Narcan), or a typo of one, is never a name. Cues
  ("my client", "her son", "Ms.", "named", "lives in") still catch names and places in no list,
  and a capitalised word that no list knows is taken for an invented name, erring towards
  redacting. After a title ("Judge", "Det.", "Mrs") a capitalised word is a name even when it
  is also as common a name as a word ("Judge Young", not "Judge Said no"); in lower case, a
  first name that is no English word and a listed surname after it are one name, even when the
  surname is a word ("keisha white"), unless the knowledge base uses that word ("keisha house
  was searched", "jose bond hearing"): then only the first name is redacted. Right after a cue,
  a top first name that is at most a less common English word is a name ("client ana", "her
  ex john"); after "name is", "named" or "goes by", any listed first name is ("her name is
  maria"), since only a name follows those.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.knowledge.normalize import STOPWORDS
from bot.privacy import lexicon
from bot.privacy.identifiers import GATES, SCHOOL, SHAPES, STATE_CODES, WITHOUT_DIGITS
from bot.privacy.lexicon import Claims, Lexicon

_NAME_CUES = (
    r"client|clinet|cleint|cient|clent|survivor|resident|victim|caller|participant|advocate|"
    r"named|name is|name's|names|goes by|called|mom|mother|dad|father|husband|wife|boyfriend|"
    r"girlfriend|bf|gf|partner|ex|fiance|fiancé|stepdad|stepmom|abuser|perp|son|daughter|kid|"
    r"child|baby|sister|brother|aunt|uncle|grandma|grandmother|grandpa|cousin|niece|nephew|"
    r"friend|neighbor|neighbour|coworker|roommate|officer|detective|deputy|judge|attorney|"
    r"lawyer|landlord|caseworker|worker|ms|mr|mrs|mx|miss|dr|sr|jr"
)
_PLACE_CUES = (
    r"lives in|living in|live in|moved to|moving to|moved from|from|in|near|outside(?: of)?|"
    r"out of|relocated to|relocating to|staying in|stays in|based in|town of|city of|up in|"
    r"down in|over in|back to|drove to|went to|headed to|fled to|fled from"
)
_WORD = r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]"
# Titles before a person's name: "Judge Young", "Det. Brown", "Mrs Green". Not "Justice" or
# "Agent": "Justice Project" and "Agent Orange" are no people.
_TITLE_WORDS = (
    "judge|magistrate|commissioner|officer|detective|sergeant|lieutenant|captain|corporal|"
    "deputy|sheriff|trooper|chief|attorney|doctor|professor|miss|reverend|pastor"
)
_TITLE_SHORT = "ofc|det|sgt|lt|capt|cpl|dep|atty|dr|prof|rev|mr|mrs|ms|mx"
# Only an abbreviation takes a full stop ("Det. Brown", "Mr.Black" typed on a phone): after
# "the judge." a capital starts a new sentence ("Young moms ...").
_TITLE = rf"(?:(?i:{_TITLE_WORDS})[ \t]+|(?i:{_TITLE_SHORT})(?:\.[ \t]*|[ \t]+))"
# Abbreviated titles are no names themselves: "Det." was taken for an unknown name.
_TITLE_ABBREVIATIONS = frozenset(_TITLE_SHORT.split("|"))
# After a title, these name an office or an event, not a person: "Attorney General",
# "Deputy Sheriff", "Sheriff Sale" (a foreclosure auction; "Sale" is a listed surname).
_OFFICES = frozenset(_TITLE_WORDS.split("|")) | _TITLE_ABBREVIATIONS | {"general", "sale"}
# One title or a chain of them ("Deputy Sheriff", "Attorney General"), then a word, same line.
_TITLED = re.compile(rf"\b({_TITLE}(?:{_TITLE}|(?i:general)[ \t]+)*)([A-Z][A-Za-z'’-]*)")
# Lower-case words that are very common first names but, typed in lower case, mostly mean
# something else: "christian church".
_LOWERCASE_ADJECTIVES = frozenset({"christian"})
_CUED = re.compile(rf"\b((?i:{_NAME_CUES})\.?,?\s+(?:(?i:is|was)\s+)?)"
                   rf"((?:{_WORD})(?:\s+(?:{_WORD}))?)")
_PLACE_CUED = re.compile(rf"\b((?i:{_PLACE_CUES})\s+)((?:{_WORD})(?:\s+(?:{_WORD})){{0,3}})")
# "Fargo, ND" or "Dry Creek ND": a town named by its state, whether or not the lists know it.
_TOWN_STATE = re.compile(rf"\b[A-Z][a-z][\w'’-]*(?:\s+[A-Z][a-z][\w'’-]*){{0,2}}"
                         rf"(?=,?\s+(?:{STATE_CODES})\b(?!-))")
_GAP = re.compile(r"\s+")
_CAPITALISED_RUN = re.compile(r"(?<!\[)\b[A-Z](?:[a-z'’-]*[a-z]|[A-Z'’-]*[A-Z])?"
                              r"(?:\s+[A-Z](?:[a-z'’-]*[a-z]|[A-Z'’-]*[A-Z])?)*\b")
# Ordinary words that often start a message and may not be in the knowledge base.
COMMON_WORDS = frozenset("""
    also quick question hey thanks thank yes yeah sorry hello hi update fyi help urgent today
    yesterday tomorrow tonight last next another since after before during anyway btw actually
    basically honestly currently recently unfortunately hopefully apparently maybe perhaps still
    well sure wait following ok okay good great morning afternoon evening weekend monday tuesday
    wednesday thursday friday saturday sunday january february march april may june july august
    september october november december i im ive id its lol ugh hmm new old first second one two
    three four five six seven eight nine ten every each any some many much more most our your
    their this that these those there here where when why how what which who whom whose would
    could should can will shall might must does did done had has have having been being was were
    ms mr mrs mx miss dr ss ssn dob tia pls thx asap
    weve theyre youre shes hes wont cant dont didnt doesnt isnt wasnt arent havent hasnt hadnt
    wouldnt couldnt shouldnt ill youll theyll whats thats theres heres lets youd theyd wed hed
    shed youve theyve aint yall gonna wanna gotta kinda
    """.split())
_AGED = re.compile(r"\b((?:[A-Za-z][A-Za-z'’-]+\s+){0,2}[A-Za-z][A-Za-z'’-]+)"
                   r"(?=\s*(?:,\s*(?:age\s*)?\d{1,2}\b|\(\s*(?:age\s*)?\d{1,2}\s*\)))",
                   re.IGNORECASE)
# Lower-case words with these endings are verbs, adverbs and abstract nouns, rarely names.
_WORD_LIKE = re.compile(r"(?:ing|ed|ly|tion|sion|ment|ness|able|ible|ful|less|ous|ive|ies)$")
_LOWER_WORD = re.compile(r"\b[a-z][a-z'’-]{2,}\b")
PLACEHOLDER = re.compile(r"\[[A-Z0-9][A-Z0-9 -]*\]")
_PLACEHOLDER_SPLIT = re.compile(r"(\[[A-Z0-9][A-Z0-9 -]*\])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[\"“(]\s*)$")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_ACRONYM = re.compile(r"^[A-Z]{2,4}s?$")
# Cues that can only be followed by a name: "her name is Hope" is a name though "hope" is a
# word the knowledge base uses ("called CPS" is not, so "called" is not one of them).
_ONLY_NAMES_FOLLOW = r"named|name is|name's|goes by"
_NAMING = re.compile(rf"(?i:{_ONLY_NAMES_FOLLOW}|names|called)\.?,?\s+$")
_CHRISTENING = re.compile(rf"(?i:{_ONLY_NAMES_FOLLOW})\.?,?\s+$")
# Words that start a question as verbs ("Will the court", "May we"), not as names.
_FUNCTION = STOPWORDS | COMMON_WORDS
# Single-word cues ("Judge", "Officer", "Ms"): a title before a name, not a first name.
_CUE_WORDS = frozenset(cue for cue in _NAME_CUES.split("|") if " " not in cue)
# A capitalised word right after a redacted name, on the same line: its surname ("[NAME] Doe").
_AFTER_NAME = re.compile(r"\[NAME\]([ \t]+)([A-Za-z][A-Za-z'’-]*)")
STRONG_NAME = 2  # Claims.name at or above this: a name the lists know well (see lexicon.py)
_EMPTY = Lexicon({}, frozenset(), frozenset())
_DIGIT = re.compile(r"\d")
# Each shape with its gate, looked up once: hashing a compiled pattern hashes all its code.
_SHAPES = [(placeholder, pattern, GATES.get(pattern))
           for placeholder, pattern in [*SHAPES, ("[SCHOOL]", SCHOOL)]]
_CACHE_SIZE = 50_000

REDACTED_TOKEN = "0redacted"  # no knowledge base uses it, and it is never "corrected"
NAME, PLACE = "[NAME]", "[PLACE]"


def without_placeholders(text: str) -> str:
    """What the matcher sees. A name or place becomes words the knowledge base doesn't know
    (two for a name): it was found among words, and may have been one that mattered, so it
    weighs against a match as the word itself would. A phone number, e-mail, date, address or
    any other identifier found by its shape is left out: it never says what a question is
    about, and an advocate who typed three of them should get the same answer as one who
    typed none. No placeholder's own words ("place", "number") count for any entry."""
    counter = itertools.count()

    def unknown_words(found: re.Match[str]) -> str:
        words = {NAME: 2, PLACE: 1}.get(found.group(0), 0)
        return " " + " ".join(f"{REDACTED_TOKEN}{next(counter)}" for _ in range(words)) + " "

    return " ".join(PLACEHOLDER.sub(unknown_words, text).split())


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


class KnownWords(Protocol):
    """What a redactor needs from a knowledge base (its normaliser provides it)."""

    @property
    def vocabulary(self) -> frozenset[str]: ...
    @property
    def terms(self) -> frozenset[str]: ...
    def correct(self, word: str) -> str | None: ...


class Redactor:
    """Knows which words are ordinary: the knowledge base's, the domain's and English ones.

    `lists=False` leaves out the name, place and English lists: the pattern-and-capitals
    redactor this one replaced, kept to measure against (benchmarks/bench_redaction.py)."""

    def __init__(self, vocabulary: Iterable[str] = (),
                 correct: Callable[[str], str | None] | None = None, *,
                 lists: bool = True, terms: Iterable[str] = ()) -> None:
        """`terms` are words staff declared (synonyms.yaml: "TJ", "SANE"): never a name."""
        self.lexicon = lexicon.load() if lists else _EMPTY
        self.vocabulary = frozenset(w.casefold() for w in vocabulary)
        self.known = (STOPWORDS | COMMON_WORDS | _TITLE_ABBREVIATIONS | self.lexicon.domain
                      | {t.casefold() for t in terms})
        self._correct = correct
        self._cache: dict[str, Claims] = {}

    @classmethod
    def knowing(cls, words: KnownWords, *, lists: bool = True) -> Redactor:
        """A redactor that knows a knowledge base's words, so they are never taken for names."""
        return cls(words.vocabulary, words.correct, lists=lists, terms=words.terms)

    def redact(self, text: str) -> Redaction:
        """Never raises: a message is redacted whatever it holds."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        kinds: set[str] = set()
        digits = _DIGIT.search(text) is not None
        for placeholder, pattern, gate in _SHAPES:
            if not digits and placeholder not in WITHOUT_DIGITS:
                continue  # most shapes need a digit: skipping them halves the time
            if gate is not None and not gate(text):
                continue  # a costly pattern, and nothing it needs is there
            text, count = _substitute(pattern, placeholder, text)
            if count:
                kinds.add(placeholder)
        parts = _PLACEHOLDER_SPLIT.split(text)  # placeholders sit at odd positions
        for i in range(0, len(parts), 2):
            for rule in (self._titled_names, self._cued_names, self._places, self._aged_names,
                         self._lowercase_names, self._capitalised):
                parts[i], found = rule(parts[i])
                kinds |= found
        return Redaction(self._surnames_after_names("".join(parts)), frozenset(kinds))

    def _surnames_after_names(self, text: str) -> str:
        """ "my client Jane Doe" became "[NAME] Doe": a cue, an age or a lower-case rule took
        the first name, and "Doe" alone is a word. A listed name written like a name right
        after a redacted one is its surname ("[NAME]'s Case" is not: a possessive ends it)."""
        def replace(found: re.Match[str]) -> str:
            word = found.group(2)
            if not (_capitalised_word(word) and self._may_be_surname(word)):
                return found.group(0)
            return _name(word)
        return _AFTER_NAME.sub(replace, text)

    # What a word is --------------------------------------------------------------------------

    def _claims(self, word: str) -> Claims:
        """Cached: the same few thousand words come back in every message."""
        found = self._cache.get(word)
        if found is None:
            if len(self._cache) > _CACHE_SIZE:
                self._cache.clear()
            found = self._cache[word] = self.lexicon.claims(_bare(word))
        return found

    def _claimed(self, word: str) -> bool:
        """A word of the knowledge base, the domain lexicon or plain function words: never a
        name, whatever the name lists say ("Title", "Tecum", "Will")."""
        bare = _bare(word)
        if bare in self.known or bare.isdigit() or self._in_vocabulary(bare):
            return True
        parts = [p for p in bare.split("-") if p]
        return len(parts) > 1 and all(p in self.known or self.lexicon.claims(p).english
                                      or p.isdigit() for p in parts)

    def _in_vocabulary(self, bare: str) -> bool:
        """The knowledge base uses the word, and the lists don't call it a name more strongly
        than a word: its text mentions "Jane Doe", which doesn't make Jane an ordinary word."""
        if bare not in self.vocabulary:
            return False
        claims = self.lexicon.claims(bare)
        return claims.english >= claims.name

    def _plain(self, word: str) -> bool:
        """An ordinary word: claimed, or more an English word than a name."""
        claims = self._claims(word)
        return self._claimed(word) or claims.english > claims.name

    def _wordlike(self, word: str) -> bool:
        """Plainly an English word by its form, though no list has it."""
        return word.islower() and _WORD_LIKE.search(_bare(word)) is not None

    def _misspelt(self, word: str) -> bool:
        """Close to a knowledge-base word: a typo, corrected rather than redacted."""
        return self._correct is not None and self._correct(_bare(word)) is not None

    def _unknown(self, word: str) -> bool:
        """In no list and no vocabulary, and not a typo of a known word: an invented name."""
        claims = self._claims(word)
        return not (self._claimed(word) or claims.english or claims.name or claims.place
                    or self._wordlike(word) or self._misspelt(word))

    # Rules -----------------------------------------------------------------------------------

    def _titled_names(self, text: str) -> tuple[str, set[str]]:
        """ "Judge Young", "Det. Brown", "officer Black": a capitalised word after a title is
        a name, though it is also a word the cue rule keeps ("Young"). The title stays, so
        the question still says who acted: "Judge [NAME] denied it"."""
        def replace(found: re.Match[str]) -> str:
            title, word = found.group(1), found.group(2)
            if not self._name_after_title(word, title.isupper()):
                return found.group(0)
            return title + _name(word)
        return _changes(_TITLED, replace, text, NAME)

    def _name_after_title(self, word: str, capitals: bool) -> bool:
        """Written as a name (in capitals only after a title in capitals: "JUDGE YOUNG"; a
        lower-case word after a title is left to the cue rule), and no function word, domain
        word or office ("Attorney General"), nor an English word the name lists claim less
        strongly than English does ("Officer Safety", "Magistrate Court", "Judge Said no",
        "Sergeant Major", "Trooper Post"): a word among the most common English words is a
        name only when it is also among the most common names ("Young", "Black"). An unknown
        word is an invented surname."""
        if not (word.isupper() if capitals else _capitalised_word(word)):
            return False
        bare = _bare(word)
        if bare in self.known or bare in _OFFICES:
            return False
        claims = self._claims(word)
        return claims.name >= claims.english

    def _cued_names(self, text: str) -> tuple[str, set[str]]:
        """ "my client Rosa Delgado", "her son pim": up to two words after a cue. When they
        are no name, the search goes on from the first of them, which may be a cue of its own
        ("a child named ana", "her son goes by Tico")."""
        out: list[str] = []
        at = 0
        while (found := _CUED.search(text, at)) is not None:
            words = found.group(2).split()
            kept = self._cued_words(found.group(1), words)
            if kept == 0:
                out.append(text[at:found.start(2)])
                at = found.start(2)
                continue
            tail = " ".join(words[kept:])
            out.append(text[at:found.end(1)] + _name(words[kept - 1])
                       + (" " + tail if tail else ""))
            at = found.end()
        if not out:
            return text, set()
        out.append(text[at:])
        new = "".join(out)
        return new, {NAME} if new != text else set()

    def _cued_words(self, cue: str, words: list[str]) -> int:
        """How many of the words after a cue are a name: "my client keisha white" is a
        lower-case first name and surname, though "white" alone is a word."""
        naming = _NAMING.search(cue) is not None
        christening = _CHRISTENING.search(cue) is not None
        if len(words) == 2 and all(w.islower() for w in words) and (
                self._cued_first_name(words[0], christening)
                and self._lowercase_surname(words[1])):
            return 2
        kept = 0
        while kept < len(words) and (
                self._cued_name(words[kept], naming)
                or (christening and kept == 0 and (_capitalised_word(words[0])
                                                    or self._christened(words[0])))):
            kept += 1
        return kept

    def _cued_first_name(self, word: str, christening: bool) -> bool:
        """A lower-case first name right after a cue: a listed one that is at most a
        less common English word ("client ana", "her ex john"), or after "name is" any
        listed one ("her name is maria")."""
        if self._lowercase_first_name(word) or (christening and self._christened(word)):
            return True
        claims = self._claims(word)
        return (claims.first == 3 and claims.english <= 2 and not self._claimed(word)
                and not self._wordlike(word) and _bare(word) not in _LOWERCASE_ADJECTIVES)

    def _christened(self, word: str) -> bool:
        """After "her name is" or "named", only a name follows: a listed first name is one
        in lower case too, even one that is also a common word ("maria", "hope", "may"),
        but not a function word or a word shaped like a verb ("her name is on the lease",
        "her name is spelled wrong")."""
        bare = _bare(word)
        return (word.islower() and bare not in STOPWORDS and not self._wordlike(word)
                and self._claims(word).first > 0)

    def _cued_name(self, word: str, naming: bool) -> bool:
        if self._claimed(word):
            return False
        claims = self._claims(word)
        if naming and word[0].isupper():  # "a 6 yr old named Sprig"
            return True
        if word[0].isupper():  # "her son Will": a listed name, unless a very common word
            return (claims.name > 0 and claims.name + 1 >= claims.english) or self._unknown(word)
        if self._cued_first_name(word, christening=False):
            return True  # "client ana": a name, though "ana" is also a rare English word
        if claims.english:  # "her husband beat her", "a resident overdoses"
            return False
        # "her son brody": after a cue a well-known name is a name, though it is one letter
        # from a knowledge-base word ("body"); a weaker one may be that word mistyped.
        return (claims.name >= STRONG_NAME or (claims.name > 0 and not self._misspelt(word))
                or self._unknown(word))

    def _places(self, text: str) -> tuple[str, set[str]]:
        """ "lives in Bismarck", "moved to grand forks", "Dry Creek, ND"."""
        text, found = _changes(_TOWN_STATE, self._town_before_state, text, PLACE)
        text, more = _changes(_PLACE_CUED, self._cued_place, text, PLACE)
        return text, found | more

    def _town_before_state(self, found: re.Match[str]) -> str:
        words = found.group(0).split()
        if self.lexicon.is_place(" ".join(_bare(w) for w in words)):
            return PLACE
        return found.group(0) if all(self._claimed(w) for w in words) else PLACE

    def _cued_place(self, found: re.Match[str]) -> str:
        words = found.group(2).split()
        for size in range(len(words), 0, -1):
            if self._is_place(words[:size]):
                rest = " ".join(words[size:])
                return found.group(1) + PLACE + (" " + rest if rest else "")
        return found.group(0)

    def _is_place(self, words: list[str]) -> bool:
        phrase = " ".join(_bare(w) for w in words)
        if not self.lexicon.is_place(phrase):
            return False
        if len(words) > 1 and all(w[0].isupper() for w in words):
            return True  # "moved to New Town": common words, but capitalised as one place
        if all(self._claimed(w) for w in words):
            return False
        if words[0][0].isupper():
            return True  # "in Hope", "from Mandan": a capitalised place after a place cue
        return any(not self._claims(w).english for w in words) and not self._misspelt(words[0])

    def _aged_names(self, text: str) -> tuple[str, set[str]]:
        """ "elsquine mossgravel, 29," and "rini (5)": a name right before an age."""
        def replace(found: re.Match[str]) -> str:
            words = found.group(1).split()
            unknown = 0
            while unknown < len(words) and not self._plain(words[-1 - unknown]):
                unknown += 1
            if not unknown:
                return found.group(0)
            return " ".join([*words[: len(words) - unknown], _name(words[-1])])
        return _changes(_AGED, replace, text, NAME)

    def _lowercase_names(self, text: str) -> tuple[str, set[str]]:
        """ "quetzany hollinvar" (two unknown words in a row) and "gonzalez" (a listed name
        that is no English word), typed in lower case."""
        words = list(_LOWER_WORD.finditer(text))
        marked: list[tuple[int, int]] = []
        before_a_word_surname: set[int] = set()
        for first, second in itertools.pairwise(words):
            adjacent = not text[first.end():second.start()].strip()
            if adjacent and self._lowercase_pair(first.group(0), second.group(0)):
                joined = marked and marked[-1][1] >= first.start()
                start = marked.pop()[0] if joined else first.start()
                marked.append((start, second.end()))
            elif adjacent and self._lowercase_first_name(first.group(0)) and (
                    self._word_surname(second.group(0))):
                before_a_word_surname.add(first.start())  # "jane young": "jane" alone
        covered = {w.start() for w in words for s, e in marked if s <= w.start() < e}
        marked += [(w.start(), w.end()) for w in words
                   if w.start() not in covered and (w.start() in before_a_word_surname
                                                    or self._listed_lowercase(w.group(0)))]
        for start, end in sorted(marked, reverse=True):
            text = text[:start] + _name(text[start:end].split()[-1]) + text[end:]
        return text, {NAME} if marked else set()

    def _lowercase_pair(self, first: str, second: str) -> bool:
        if self._lowercase_first_name(first) and self._lowercase_surname(second):
            return True  # "keisha white"
        if any(self._plain(w) or self._wordlike(w) for w in (first, second)):
            return False
        if not any(self._claims(w).name for w in (first, second)):
            return not (self._misspelt(first) and self._misspelt(second))  # "neds hlep"
        return True

    def _lowercase_first_name(self, word: str) -> bool:
        """A first name even in lower case: well listed and no English word ("keisha",
        "jose"), or among the most common and only a rare one ("jane"). Not one that is also
        a common word ("will", "hope", "grace", "mark", "june"): in lower case it is the word.
        A typo of a knowledge-base word is allowed: the surname after it decides."""
        claims = self._claims(word)
        rare_word = 1 if claims.first > STRONG_NAME else 0
        return (claims.first >= STRONG_NAME and claims.english <= rare_word
                and not self._claimed(word) and not self._wordlike(word)
                and _bare(word) not in _LOWERCASE_ADJECTIVES)

    def _lowercase_surname(self, word: str) -> bool:
        """A listed surname at least as much a surname as a word ("white", "hall", "rice";
        not "said" or "back"), even one ending like a verb ("reed"), but no function word,
        domain word, staff term or word the knowledge base uses ("keisha will", "jose may",
        "jose bond hearing", "aisha day care", "keisha cash bail", "keisha house was
        searched"). In lower case the lists can't tell "young" or "black" from "bond" or
        "house" (each as common a surname as a word), so a word the advocates' questions are
        about stays a word and the first name alone is redacted: "[NAME] young"."""
        return self._word_surname(word) and not self._claimed(word)

    def _word_surname(self, word: str) -> bool:
        """A listed surname at least as much a surname as a word, and no function word, domain
        word or staff term. Even when the knowledge base uses it ("young", "bond"), it is
        evidence that a lower-case first name before it ("jane", "carlos": a rare word, a
        typo's neighbour) is a name: "[NAME] young needs a new PO"."""
        claims = self._claims(word)
        return claims.surname >= max(1, claims.english) and _bare(word) not in self.known

    def _listed_lowercase(self, word: str) -> bool:
        claims = self._claims(word)
        return (claims.name >= 2 and not claims.english and not self._claimed(word)
                and not self._misspelt(word))

    def _capitalised(self, text: str) -> tuple[str, set[str]]:
        """A run of capitalised words, judged word by word against the lists."""
        kinds: set[str] = set()

        def replace(found: re.Match[str]) -> str:
            at_start = _SENTENCE_START.search(text[: found.start()]) is not None
            words, gaps = found.group(0).split(), _GAP.findall(found.group(0))
            labels = self._labels(words, at_start, ["\n" not in gap for gap in gaps])
            kinds.update(label for label in labels if label)
            return _render(words, labels, gaps)

        return _CAPITALISED_RUN.sub(replace, text), kinds

    def _labels(self, words: list[str], at_start: bool,
                same_line: list[bool] | None = None) -> list[str | None]:
        """NAME, PLACE or None for each word of a capitalised run; `same_line[i]`: words i and
        i + 1 are on one line (a line break may start a new sentence)."""
        labels: list[str | None] = [None] * len(words)
        self._label_places(words, labels)
        for i, word in enumerate(words):
            if labels[i] is None:
                labels[i] = self._capitalised_label(word, at_start and i == 0)
        self._spread_names(words, labels)
        self._pair_names(words, labels, at_start,
                         same_line if same_line is not None else [True] * len(words))
        if len(words) >= 2 and NAME not in labels:  # "Grace Hill": first name + surname
            first, last = self._claims(words[0]), self._claims(words[-1])
            if (first.first and last.surname and labels.count(None) == len(words)
                    and not any(self._claimed(w) for w in words)):
                labels = [NAME] * len(words)
        return labels

    def _spread_names(self, words: list[str], labels: list[str | None]) -> None:
        """ "Rose Martinez": a listed name beside a name is part of it, though "rose" is also
        a common word."""
        for order in (range(1, len(words)), range(len(words) - 2, -1, -1)):
            for i in order:
                neighbour = labels[i - 1] if order.step == 1 else labels[i + 1]
                if labels[i] is None and neighbour == NAME and self._name_beside_name(words[i]):
                    labels[i] = NAME

    def _pair_names(self, words: list[str], labels: list[str | None], at_start: bool,
                    same_line: list[bool]) -> None:
        """A first name and the capitalised word after it are one name, though the surname is
        also a word ("Jane Doe", "Kim Law") and the first name too ("Grace Young", "Lee
        Case"): a surname kept beside a redacted first name, or a whole name kept because
        both are words, still says who the client is."""
        named = [label == NAME for label in labels]  # before pairing: no chains of words
        for i in range(len(words) - 1):
            first, last = words[i], words[i + 1]
            if not same_line[i] or _POSSESSIVE.search(first):
                continue  # "Megan's Law", "Amy's House": a possessive ends a name
            if named[i] and labels[i + 1] is None and self._surname_after(first, last):
                labels[i + 1] = NAME
            elif (labels[i] is None and not (at_start and i == 0 and _bare(first) in _FUNCTION)
                  and self._word_name_pair(first, last, named[i + 1])):
                labels[i] = NAME
                labels[i + 1] = labels[i + 1] or NAME

    def _surname_after(self, first: str, last: str) -> bool:
        """ "Jane Doe", "JANE DOE": a known first name, then a listed name in the same case."""
        return (self._claims(first).first > 0 and first.isupper() == last.isupper()
                and self._may_be_surname(last))

    def _may_be_surname(self, word: str) -> bool:
        """A listed name beside a name ("Washington", see `_name_beside_name`), or one that is
        also a word, listed as a name about as strongly ("Doe", "Law", "Young"; not "School"
        or "Court", rare surnames but everyday words), no function word and not in the
        domain lexicon ("Title", "Signal"). Not the knowledge base's terms: they hold every
        word of a phrase ("case management", "red flag law"). "Project" and "Institute" are
        in no name list, so "Trevor Project" keeps its second word."""
        if self._name_beside_name(word):
            return True
        claims, bare = self._claims(word), _bare(word)
        return (claims.name >= max(1, min(claims.english, STRONG_NAME))
                and bare not in STOPWORDS and bare not in self.lexicon.domain)

    def _word_name_pair(self, first: str, last: str, last_named: bool) -> bool:
        """ "Grace Young", "Sue Black", "Will Quimby": a first name that is also a word, then
        a surname, both capitalised. Kept: a verb starting a sentence ("Will the court": the
        caller checks), all capitals, a title ("Judge Young" is the cue's), a word of the
        field ("Elder Justice"), a second word more a word than a surname ("Grace Period",
        "Amber Alert", "Sunshine Law") and a compound the dictionary writes as one ("May Day":
        "mayday"). A programme named like a person ("Hope House") is redacted: it may be."""
        bare = _bare(first)
        if not (_capitalised_word(first) and _capitalised_word(last)) or self._claims(
                first).first < STRONG_NAME or bare in self.lexicon.domain or bare in _CUE_WORDS:
            return False
        if self.lexicon.claims(bare + _bare(last)).english:
            return False
        claims = self._claims(last)
        return last_named or (self._may_be_surname(last) and claims.surname >= claims.english)

    def _name_beside_name(self, word: str) -> bool:
        """A listed name; even one the knowledge base uses ("Kiara Washington": the state is
        in a citation), unless it is also an ordinary word ("Will", "Title")."""
        claims = self._claims(word)
        return bool(claims.name) and (not self._claimed(word) or not claims.english)

    def _label_places(self, words: list[str], labels: list[str | None]) -> None:
        """Multi-word places first ("Grand Forks", "Cass County"), longest first."""
        for size in range(min(len(words), lexicon.MAX_PLACE_WORDS), 1, -1):
            for start in range(len(words) - size + 1):
                span = words[start:start + size]
                if all(label is None for label in labels[start:start + size]) and (
                        self.lexicon.is_place(" ".join(_bare(w) for w in span))
                        and not all(self._claimed(w) for w in span)):
                    labels[start:start + size] = [PLACE] * size

    def _capitalised_label(self, word: str, at_start: bool) -> str | None:
        if self._claimed(word) or (_ACRONYM.match(word) and not self._claims(word).name):
            return None
        claims = self._claims(word)
        if claims.name > claims.english:
            return NAME if not (claims.place and claims.name < 2) else PLACE
        if claims.place and not claims.english:
            return PLACE
        if claims.english or claims.name:
            return None
        if at_start and not word.isupper() and self._misspelt(word):
            return None  # "Shleter?": a typo capitalised only because it starts the sentence
        return NAME


def _render(words: list[str], labels: list[str | None], gaps: list[str]) -> str:
    """Join a run back, each stretch of one label as one placeholder ("[NAME]'s ex"), keeping
    the spaces and line breaks between stretches: a line break still ends a name there."""
    out: list[str] = []
    for label, group in itertools.groupby(range(len(words)), key=lambda i: labels[i]):
        stretch = list(group)
        if stretch[0]:
            out.append(gaps[stretch[0] - 1])
        if label is not None:
            out.append(_placeholder(label, words[stretch[-1]]))
            continue
        out += [words[i] + (gaps[i] if i < stretch[-1] else "") for i in stretch]
    return "".join(out)


def _capitalised_word(word: str) -> bool:
    """ "Hope", not "hope" and not an acronym such as "CPS"."""
    return word[:1].isupper() and not word.isupper()


def _bare(word: str) -> str:
    return _POSSESSIVE.sub("", word).casefold().replace("'", "").replace("’", "").strip("-")


def _placeholder(kind: str, last_word: str) -> str:
    """Keep a possessive so the question still reads: "[NAME]'s ex"."""
    found = _POSSESSIVE.search(last_word)
    return kind + (found.group(0) if found else "")


def _name(last_word: str) -> str:
    return _placeholder(NAME, last_word)


def _substitute(pattern: re.Pattern[str], placeholder: str, text: str) -> tuple[str, int]:
    """Replace each match, keeping what the pattern names: a cue ("passport no. [PASSPORT
    NUMBER]", "zip [ZIP CODE]") or the words before a ZIP code ("Fargo, ND [ZIP CODE]")."""
    if not pattern.groupindex:
        return pattern.subn(placeholder, text)
    kept = list(pattern.groupindex)  # each alternative names its own: one at most matches
    return pattern.subn(lambda m: "".join(m.group(c) or "" for c in kept) + placeholder, text)


def _changes(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str,
             kind: str) -> tuple[str, set[str]]:
    changes = 0

    def counted(found: re.Match[str]) -> str:
        nonlocal changes
        new = replace(found)
        changes += new != found.group(0)
        return new

    return pattern.sub(counted, text), {kind} if changes else set()


_DEFAULT: Redactor | None = None


def redact(text: str, redactor: Redactor | None = None) -> Redaction:
    """Redact with a given redactor, or one that knows no knowledge base (made on first use)."""
    global _DEFAULT
    if redactor is None:
        _DEFAULT = _DEFAULT or Redactor()
        redactor = _DEFAULT
    return redactor.redact(text)
