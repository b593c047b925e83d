"""Write the second half of tests/data/pii_corpus.jsonl: invented messages, in advocates' own
styles, planting every identifier kind the redactor covers (issue #13).

Run: `.venv/bin/python scripts/make_pii_corpus.py` (deterministic: a fixed seed). It keeps the
first 320 hand-written lines of the corpus and rewrites the generated ones after them.

Everything planted is invented: names are random pairings of common first names and surnames
(no real person is meant), numbers are random, streets and schools are made up. Towns are real
US places, which identify no one on their own but would narrow down where a survivor is.
Each message mixes a real TA question with two or three details, lower case, typos and run-on
sentences, as advocates type in the middle of a shift.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_corpus.jsonl"
HAND_WRITTEN = 320
COUNT = 330
FIRST = ("Maria Jessica Ashley Brittany Tamika Keisha Guadalupe Yesenia Marisol Lupita Dolores "
         "Shaniqua Latoya Precious Destiny Jasmine Nevaeh Kayleigh Brianna Alondra Ximena "
         "Anahi Mayra Yolanda Priya Fatima Aaliyah Imani Deshawn Tyrone Jamal Jose Luis Carlos "
         "Miguel Ricardo Dmitri Brandon Kyle Cody Dustin Travis Jaxon Jayden Marcus Terrell "
         "Darnell Ramon Alejandro Tomas Nguyen Thuy Mai Linh Hyun Soo Aditi Leticia Rosalind "
         "Bernadette Marguerite Shelby Kaylee Madison Haley Courtney Chelsea").split()
LAST = ("Gonzalez Martinez Hernandez Delgado Ramirez Vasquez Castillo Okafor Nwosu Adeyemi "
        "Kowalski Nowak Petersen Lindqvist Haugen Thorsen Begay Yazzie Tsosie Redcloud "
        "Littlewolf Whitehorse Robinson Washington Jefferson Dubois Baptiste Pham Tran Huynh "
        "Nakamura Takahashi Patel Chaudhry Siddiqui Rahman Haddad Khoury Mendoza Figueroa "
        "Villanueva Quintero Espinoza Zamora Bautista Schultz Schneider Hoffmann Becker "
        "Fitzgerald McAllister Gallagher Kaczmarek Wojcik Abernathy Pettigrew Whitfield "
        "Hollingsworth Blackwood").split()
TOWNS = ("Bismarck Minot Mandan Dickinson Jamestown Williston Fargo Wahpeton Bemidji Moorhead "
         "Kalispell Missoula Bozeman Glendive Havre Spearfish Yankton Brookings Mitchell "
         "Sturgis Belcourt Cheyenne Laramie Casper Gillette Sheridan Rawlins Scottsbluff "
         "Kearney Hastings Lincoln Omaha Ogallala Dubuque Ottumwa Davenport Muscatine").split()
TOWNS2 = ("Grand Forks|Devils Lake|Valley City|Watford City|Rapid City|Sioux Falls|Great Falls|"
          "Fort Yates|New Town|Pine Ridge|Rock Springs|North Platte|Council Bluffs|"
          "Cedar Rapids|Iowa City|Fort Collins").split("|")
STATES = "ND MN MT SD WY NE IA CO".split()
STREETS = ("Juniper Quillfeather Marrowbone Tessaly Pinewhistle Harrowgate Bellwether Cobbler "
           "Larkspur Thistledown Crowfoot Ambergate Sorrel Hollyhock Windermere").split()
STREET_TYPES = "St Street Ave Avenue Rd Dr Drive Ln Lane Ct Blvd Way Pl Trail Circle".split()
UNITS = ("Apt {n}", "apt {n}{l}", "Unit {n}", "#{n}", "Lot {n}", "unit {l}{n}", "Suite {n}",
         "trlr {n}", "Apt. {n}{l}")
SCHOOL_NAMES = "Roosevelt Westbrook Prairie Rose|Sakakawea|Lewis and Clark|Dakota Ridge|" \
               "Riverbend|Sunnyslope|Meadowlark|Buffalo Creek|Cottonwood|Badlands".split("|")
SCHOOL_KINDS = ("Elementary", "Middle School", "High School", "elementary", "middle", "Academy",
                "Montessori", "high school")
OPENERS = ("hey", "hi team", "quick q", "ok weird one:", "Hi!", "so", "ugh", "hello,",
           "urgent -", "", "", "", "sorry if this is dumb but", "not sure who to ask,")
CLOSERS = ("thx", "ty!", "tia", "thanks all", "lmk", "", "", "", "any help appreciated",
           "pls advise", "Thank u")
QUESTIONS = (
    "can we write her a letter for the housing authority without breaking vawa confidentiality",
    "does she qualify for a u visa if the police never finished the report",
    "what do we do if uscis sends a request for evidence to the old address",
    "can she self petition under vawa if they were never married",
    "is it ok to keep copies of her immigration papers in our file",
    "how do we help her get a new ssn or is that not a thing",
    "can the shelter ask for id at intake or is that a barrier",
    "do we need a release to talk to her medicaid caseworker",
    "what's the rule on sharing with the sart if she didn't sign anything",
    "can we pay her rent directly from the voca emergency funds",
    "he keeps finding her, how do we check her phone for stalkerware",
    "does the address confidentiality program cover her kids' school records",
    "how do we answer a subpoena duces tecum for her file",
    "should we tell her to close the joint bank account before filing",
    "can the school release her son's records to the dad if there's a po",
    "what can we put in the hmis comparable database for her",
    "does mandatory reporting apply if the kid just told us about it",
    "is she eligible for tanf if her husband controls all the money",
    "can we help her replace her passport if he took it",
    "how long do we keep these intake notes before shredding",
)
DETAILS = (
    ("his a-number is {anum}", "anum"), ("her A# is {anum}", "anum"),
    ("her alien number {anum}", "anum"), ("the receipt number is {receipt}", "receipt"),
    ("uscis receipt {receipt}", "receipt"), ("her i-94 number is {i94}", "i94"),
    ("I-94 # {i94}", "i94"), ("passport no. {passport}", "passport"),
    ("her passport number {passport}", "passport"), ("his drivers license {dl}", "dl"),
    ("DL # {dl}", "dl"), ("her medicaid id is {member}", "member"),
    ("insurance member id {member}", "member"), ("his medicare number {member}", "member"),
    ("the card he used was {card}", "card"), ("debit card {card}", "card"),
    ("the joint account # is {account}", "account"), ("routing number {routing}", "routing"),
    ("checking acct {account}", "account"), ("he logs in from ip {ip}", "ip"),
    ("the router shows {ip}", "ip"), ("her phone pinged at {gps}", "gps"),
    ("the tracker app showed {gps}", "gps"), ("she's at {address}", "address"),
    ("her apartment is {address}", "address"), ("he moved into {address}", "address"),
    ("her son attends {school}", "school"), ("the kids go to {school}", "school"),
    ("her daughter attends {school}", "school"), ("she lives in {town}", "town"),
    ("she moved to {town}", "town"), ("he's from {town}", "town"),
    ("they're staying in {town}", "town"), ("she's at her sister's in {town}, {state}", "town"),
    ("my client {name}", "name"), ("her ex {name}", "name"),
    ("the abuser is {name}", "name"), ("{name} called the hotline again", "name"),
    ("i talked to {lname} this morning", "lname"), ("her mom {first} is helping", "first"),
    ("a survivor named {first}", "first"), ("her phone is {phone}", "phone"),
    ("her ssn {ssn}", "ssn"), ("his new number {phone}", "phone"),
)


def pick_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def grouped(rng: random.Random, value: str, sizes: tuple[int, ...]) -> str:
    """The same number typed plain, dashed or spaced."""
    sep = rng.choice(("", "-", " "))
    parts, at = [], 0
    for size in sizes:
        parts.append(value[at:at + size])
        at += size
    return sep.join(parts)


def values(rng: random.Random) -> dict[str, str]:
    anum = digits(rng, 9)
    prefix = rng.choice(("A", "a", "A-", "A ", "A#"))
    receipt = rng.choice(("EAC", "WAC", "LIN", "SRC", "IOE", "MSC", "eac", "lin")) + grouped(
        rng, "2" + digits(rng, 9), (2, 3, 5))
    town = rng.choice(TOWNS + TOWNS2)
    unit = rng.choice(UNITS).format(n=rng.randrange(1, 400), l=rng.choice("ABCDEF"))
    street = f"{rng.randrange(10, 99999)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    return {
        "anum": prefix + grouped(rng, anum, (3, 3, 3)),
        "receipt": receipt,
        "i94": digits(rng, 9) + rng.choice("ABCDEFGH") + digits(rng, 1),
        "passport": rng.choice(("", "X", "A", "N")) + digits(rng, 8),
        "dl": rng.choice("DSKLM") + grouped(rng, digits(rng, 11), (3, 4, 4)),
        "member": rng.choice(("", "MCD", "XQH", "W")) + grouped(rng, digits(rng, 9), (3, 3, 3)),
        "card": grouped(rng, "4" + digits(rng, 15), (4, 4, 4, 4)),
        "account": digits(rng, rng.randrange(8, 13)),
        "routing": digits(rng, 9),
        "ip": rng.choice((f"{rng.randrange(11, 223)}.{rng.randrange(256)}."
                          f"{rng.randrange(256)}.{rng.randrange(1, 255)}",
                          f"2601:{rng.randrange(4096, 65535):x}:{rng.randrange(4096, 65535):x}:"
                          f"{rng.randrange(4096, 65535):x}::{rng.randrange(16, 255):x}")),
        "gps": rng.choice((f"{rng.randrange(40, 49)}.{digits(rng, 5)}, "
                           f"-{rng.randrange(96, 110)}.{digits(rng, 5)}",
                           f"{rng.randrange(40, 49)}°{rng.randrange(10, 59)}'"
                           f"{rng.randrange(10, 59)}\"N {rng.randrange(96, 110)}°"
                           f"{rng.randrange(10, 59)}'{rng.randrange(10, 59)}\"W")),
        "address": f"{street} {unit}" if rng.random() < 0.7 else f"{unit}, {street}",
        "school": f"{rng.choice(SCHOOL_NAMES)} {rng.choice(SCHOOL_KINDS)}",
        "town": town, "state": rng.choice(STATES),
        "name": pick_name(rng), "lname": pick_name(rng).lower(), "first": rng.choice(FIRST),
        "phone": f"{rng.randrange(201, 989)}-555-{digits(rng, 4)}",
        "ssn": f"9{digits(rng, 2)}-{digits(rng, 2)}-{digits(rng, 4)}",
    }


def typo(rng: random.Random, text: str) -> str:
    """Swap two letters of one longer word, as thumbs on a phone do."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def message(rng: random.Random) -> dict[str, object]:
    vals = values(rng)
    details = rng.sample(DETAILS, rng.choice((2, 2, 3)))
    planted = []
    parts = []
    for template, key in details:
        parts.append(template.format(**vals))
        planted.append(vals[key])
    question = rng.choice(QUESTIONS)
    if rng.random() < 0.5:
        question = typo(rng, question)
    joiner = rng.choice((", ", " and ", ". ", " - ", " also "))
    body = joiner.join(parts)
    text = " ".join(p for p in (rng.choice(OPENERS), body, "-", question + "?",
                                rng.choice(CLOSERS)) if p)
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    return {"text": text, "planted": sorted(set(planted), key=planted.index)}


def main() -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:HAND_WRITTEN]
    rng = random.Random(13)
    generated = [json.dumps(message(rng), ensure_ascii=False) for _ in range(COUNT)]
    CORPUS.write_text("\n".join(lines + generated) + "\n", encoding="utf-8")
    print(f"{CORPUS}: {len(lines)} hand-written + {len(generated)} generated messages")


if __name__ == "__main__":
    main()
