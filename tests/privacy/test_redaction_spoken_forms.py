"""Identifiers typed the way people say them, found stored whole after `tabot chat` (review).

Seven-digit phone numbers without their dash ("at 5550100", "call her at 555 0100"); a first
name in lower case after a cue, when the dictionary also lists it as a word ("her name is
maria", "client ana"); e-mail addresses spelled out ("jane dot doe at gmail dot com"); handles
after the platform they are on ("insta jane_doe88", "snap: janedoe22"); and ZIP codes. Each has
a guard: the numbers TA questions are full of (statutes, regulations, years, amounts, forms,
grant numbers, hotlines) must come out exactly as before. Every value is invented: 555-01xx
numbers, example.com and gmail addresses of invented people.
"""

from __future__ import annotations

import pytest

from bot.privacy.redaction import Redactor
from tests.privacy.conftest import surviving

# (message, placeholder, what must not survive)
SPOKEN_IDENTIFIERS = [
    # Seven-digit phones, run together or spaced, after a word that introduces a number; after
    # a bare "at", spaced or with calling named in the message ("my client maria at 5550100"
    # alone passes: amounts after "at" are far more common, see UNCHANGED).
    ("my client maria at 555 0100", "[PHONE]", "0100"),
    ("my client maria at 5550100, can I text her", "[PHONE]", "5550100"),
    ("you can reach maria at 5550100", "[PHONE]", "5550100"),
    ("she can be reached at 5550100", "[PHONE]", "5550100"),
    ("her cell is at 5550100", "[PHONE]", "5550100"),
    ("call her at 555 0100", "[PHONE]", "0100"),
    ("her cell is 555 0199", "[PHONE]", "0199"),
    ("text him at 5550142 after 5", "[PHONE]", "5550142"),
    ("her number is 555 0123, is it safe to text", "[PHONE]", "0123"),
    ("phone: 5550177", "[PHONE]", "5550177"),
    ("reach her at 555 0188 ext 2", "[PHONE]", "0188"),
    # E-mail addresses spelled out.
    ("jane dot doe at gmail dot com", "[EMAIL]", "doe"),
    ("her email is janedoe88 at gmail dot com", "[EMAIL]", "janedoe88"),
    ("write to j dot quillby at example dot org", "[EMAIL]", "quillby"),
    ("jdoe (at) example.com", "[EMAIL]", "jdoe"),
    ("jane_doe [at] example [dot] com", "[EMAIL]", "jane_doe"),
    # Handles: any @handle, and a handle-shaped word after its platform or "username".
    ("insta jane_doe88", "[HANDLE]", "jane_doe88"),
    ("her ig is @jane.doe", "[HANDLE]", "jane.doe"),
    ("snap: janedoe22", "[HANDLE]", "janedoe22"),
    ("her snapchat is jane.doe22", "[HANDLE]", "jane.doe22"),
    ("he follows her on tiktok quill_bee", "[HANDLE]", "quill_bee"),
    ("he made a fake fb account jane.doe.77", "[HANDLE]", "jane.doe.77"),
    ("her username is janedoe", "[HANDLE]", "janedoe"),
    # ZIP codes: after "zip", after a state, or closing a street address.
    ("zip 58501", "[ZIP CODE]", "58501"),
    ("her zip code is 58102-1234", "[ZIP CODE]", "58102"),
    ("she lives at 12 Quillby St, Bismarck, ND 58501", "[ZIP CODE]", "58501"),
    ("12 quillby st bismarck nd 58501", "[ZIP CODE]", "58501"),
    ("po box 123, fargo, nd 58102", "[ZIP CODE]", "58102"),
    ("Fargo, North Dakota 58102", "[ZIP CODE]", "58102"),
    ("12 quillby st fargo 58102", "[ZIP CODE]", "58102"),
    ("Fargo ND 58102 is her zip", "[ZIP CODE]", "58102"),
    ("she moved to Bismarck, North Dakota 58501 last year", "[ZIP CODE]", "58501"),
    ("she is in bismarck nd 58501, is that far", "[ZIP CODE]", "58501"),
]


@pytest.mark.parametrize(("text", "kind", "planted"), SPOKEN_IDENTIFIERS)
def test_identifiers_typed_as_spoken_are_redacted(
        redactor: Redactor, text: str, kind: str, planted: str) -> None:
    result = redactor.redact(text)
    assert kind in result.kinds and planted not in result.text, result.text


# (message, planted name): a first name in lower case that the dictionary also lists as a word
# ("maria" as the plural of "mare", "ana" as a collection of sayings), after a cue.
CUED_LOWERCASE_NAMES = [
    ("her name is maria", "maria"),
    ("client ana", "ana"),
    ("my client ana needs a PO", "ana"),
    ("her daughter's name is ana", "ana"),
    ("the survivor's name is rosa and she needs a PO", "rosa"),
    ("her name is maria white", "maria white"),
    ("my client ana white wants a PO", "ana white"),
    ("her ex john keeps calling", "john"),
    ("her name is hope", "hope"),  # after "name is" even a word the knowledge base uses
    ("a child named ana", "ana"),  # a cue ("child") right before the naming cue
    ("she goes by ana", "ana"),
    ("her son goes by tico", "tico"),
]


@pytest.mark.parametrize(("text", "planted"), CUED_LOWERCASE_NAMES)
def test_a_lower_case_name_after_a_cue_is_redacted_though_it_is_a_word(
        redactor: Redactor, text: str, planted: str) -> None:
    result = redactor.redact(text)
    assert surviving(redactor, text, planted) == [], result.text
    assert "[NAME]" in result.kinds


# Must come out exactly as before: TA questions cite statutes, rules, forms, years, amounts and
# grants, and cue words come before ordinary words. The current design redacts every phone
# number, hotlines too ("1-800-799-7233" is [PHONE]), and any code of capitals and digits, grant
# numbers too ("2023-WF-AX-0012" is [ID]): that stays as it was.
UNCHANGED = [
    ("42 U.S.C. 10406(c)(5) says what", "42 U.S.C. 10406(c)(5) says what"),
    ("under 28 CFR 94.115 can we pay for it", "under 28 CFR 94.115 can we pay for it"),
    ("does 24 CFR 5.2005 cover her", "does 24 CFR 5.2005 cover her"),
    ("42 USC 10406 and 34 U.S.C. 12291(a)(8)", "42 USC 10406 and 34 U.S.C. 12291(a)(8)"),
    ("title 42 section 10406", "title 42 section 10406"),
    ("vawa 2022 reauthorization", "vawa 2022 reauthorization"),
    ("we served 25000 people in 2023", "we served 25000 people in 2023"),
    ("can we spend $5000 on rent", "can we spend $5000 on rent"),
    ("the award is $2500000", "the award is $2500000"),
    ("the grant is 2500000 dollars", "the grant is 2500000 dollars"),
    ("she makes 3500000 a year", "she makes 3500000 a year"),
    ("is she on section 8", "is she on section 8"),
    ("do we fill out form 5382", "do we fill out form 5382"),
    ("call 1-800-799-7233", "call [PHONE]"),
    ("she can call or text 988", "she can call or text 988"),
    ("call 211 or 988", "call 211 or 988"),
    ("our grant 2023-WF-AX-0012 ends soon", "our grant [ID] ends soon"),
    ("group is in room 101", "group is in room 101"),
    ("a group for ages 12 to 17", "a group for ages 12 to 17"),
    ("the case number is 2345678", "the [CASE NUMBER]"),
    ("what is the zip code for the shelter", "what is the zip code for the shelter"),
    ("look at thehotline.org for more", "look at thehotline.org for more"),
    ("email me at the office, the rent is $450 a month",
     "email me at the office, the rent is $450 a month"),
    ("can she get snap benefits", "can she get snap benefits"),
    ("snap i.e. food stamps", "snap i.e. food stamps"),
    ("snap 12345678", "snap [MEMBER ID]"),
    ("the IG report on the shelter", "the IG report on the shelter"),
    ("is the fb group safe to use", "is the fb group safe to use"),
    ("her username is the same as her email", "her username is the same as her email"),
    ("he changed her username so she cant log in",
     "he changed her username so she cant log in"),
    ("can my client sue her landlord", "can my client sue her landlord"),
    ("her name is on the lease", "her name is on the lease"),
    ("her name is spelled wrong on the order", "her name is spelled wrong on the order"),
    ("his name is not on the lease", "his name is not on the lease"),
    ("the victim bill of rights", "the victim bill of rights"),
    ("as time goes by she is less afraid", "as time goes by she is less afraid"),
    ("my client mom is sick", "my client mom is sick"),
    # Amounts and counts after "at", "reach" or a state (review of the spoken-form rules): no
    # phone, no ZIP code. Still redacted, as ambiguous: a state and five digits closing a
    # clause ("in texas 75001", "the cap in Florida 33000, is that right?") are a ZIP code.
    ("Our spending is at 2500000", "Our spending is at 2500000"),
    ("Can we reach 2000000 survivors", "Can we reach 2000000 survivors"),
    ("In California 50000 advocates", "In California 50000 advocates"),
    ("Is the threshold in Virginia 75000 for audits",
     "Is the threshold in Virginia 75000 for audits"),
    ("Texas 75000 or 750000", "Texas 75000 or 750000"),
    ("is it Texas 75000 or 750000", "is it Texas 75000 or 750000"),
    ("we served 1500000 meals", "we served 1500000 meals"),
    ("the award is at 1200000", "the award is at 1200000"),
    ("the award is at 2200000", "the award is at 2200000"),
    ("our match is at 3000000 this year", "our match is at 3000000 this year"),
    ("we hope to reach 5000000 in donations", "we hope to reach 5000000 in donations"),
    ("the program reached 2500000 people", "the program reached 2500000 people"),
    ("we called 2500000 households", "we called 2500000 households"),
    ("we texted 3000000 survivors about the change",
     "we texted 3000000 survivors about the change"),
    ("Ohio 45000 in match", "Ohio 45000 in match"),
    ("our match in Ohio 45000 in cash", "our match in Ohio 45000 in cash"),
    ("in texas 75001 was the old limit?", "in texas 75001 was the old limit?"),
    ("funding in New York 60000 per program", "funding in New York 60000 per program"),
    ("does Montana 25000 cover rent", "does Montana 25000 cover rent"),
    ("in Washington 98000 survivors were served", "in Washington 98000 survivors were served"),
    ("In TX 75000 were served", "In TX 75000 were served"),
    ("in Georgia 30000 is the cap", "in Georgia 30000 is the cap"),
]


@pytest.mark.parametrize(("text", "expected"), UNCHANGED)
def test_numbers_and_words_of_ta_questions_come_out_as_before(
        redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact(text).text == expected
