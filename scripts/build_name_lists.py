"""Rebuild the word lists the redactor ships in bot/privacy/data/ from public-domain sources.

Run: `.venv/bin/python scripts/build_name_lists.py [--mirror DIR] [--dict DIR]`. The lists are
committed, so nothing here runs at install or test time; this script only says, reproducibly,
where every word came from (see also bot/privacy/data/SOURCES.md).

Sources (all public domain, or a permissive licence for SCOWL):
* First names: US Social Security Administration, "Beyond the Top 1000 Names", national data
  1880-2018 (`names/yob*.txt`), as committed in github.com/Priyagha/US_Name_Trends at
  4e0c417323890b69bd840bad03f0be0b76cd8077. A work of the US government: public domain.
* Surnames: US Census Bureau, 1990 census surname list `dist.all.last` (88,799 names, 90% of
  the population), as committed in github.com/nullstyle/name-database at
  46d2e01a4953b8f54e8625c9111cf5b372d80b49 (sources/census-1990/). US government work:
  public domain. (The 2010 list, Names_2010Census.csv, is over the 4 MiB that the snapshot
  store keeps, so 1990 it is.)
* Places: US Census Bureau 2018 Gazetteer files, places (`2018_Gaz_place_national.csv`: cities,
  towns, villages, boroughs and census-designated places) and counties
  (`2018_Gaz_counties_national.csv`), as committed in github.com/osirislab/armana at
  6992a140c0bc0938a79394f7684587760e971820 (gazetteer/). US government work: public domain.
* English words: SCOWL (Kevin Atkinson), as Debian's packages wamerican-small (size 35),
  wamerican (50) and wamerican-large (70), version 2020.12.07-2, /usr/share/dict/. Permissive
  licence (use, copy, modify, distribute with the notice), quoted in SOURCES.md.

What is kept, and why, so the lists stay small (a few hundred kB gzipped) yet decisive:
* names and words as tiers 1-3 (3 = most common), not counts: the redactor only compares how
  strongly the name lists and the dictionary claim a word;
* first names given to at least 20 babies over the years, surnames all; tiers by rank
  (top 1,000 = 3, top 10,000 = 2, the rest = 1);
* English words in lower case only (SCOWL spells proper nouns with a capital), tier by the
  smallest list that has them (35 = 3, 50 = 2, 70 = 1);
* places without their legal suffix ("Bismarck city" -> "bismarck"), counties as "cass county";
  state names are left out on purpose: a state is not identifying and answers depend on it.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import subprocess
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "privacy" / "data"
SSA = ("Priyagha+US_Name_Trends", "4e0c417323890b69bd840bad03f0be0b76cd8077")
CENSUS_1990 = ("nullstyle+name-database", "46d2e01a4953b8f54e8625c9111cf5b372d80b49")
GAZETTEER = ("osirislab+armana", "6992a140c0bc0938a79394f7684587760e971820")
SCOWL = (("american-english-small", 3), ("american-english", 2),
         ("american-english-large", 1))
_PLACE_SUFFIX = re.compile(
    r"\s+(?:city|town|village|borough|CDP|comunidad|zona urbana|municipality|"
    r"unified government|metropolitan government|consolidated government|corporation|"
    r"city and borough|urban county)(?:\s+\(balance\))?$|\s+\(balance\)$", re.IGNORECASE)
_STATES = frozenset((
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas",
    "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota",
    "mississippi", "missouri", "montana", "nebraska", "nevada", "new hampshire", "new jersey",
    "new mexico", "new york", "north carolina", "north dakota", "ohio", "oklahoma", "oregon",
    "pennsylvania", "rhode island", "south carolina", "south dakota", "tennessee", "texas",
    "utah", "vermont", "virginia", "washington", "west virginia", "wisconsin", "wyoming",
    "puerto rico", "district of columbia", "guam"))


def git_show(mirror: Path, repo: tuple[str, str], path: str) -> str:
    """A file as committed at the pinned commit of a fetched snapshot."""
    git_dir = mirror / repo[0] / "repo"
    return subprocess.run(["git", "-C", str(git_dir), "show", f"{repo[1]}:{path}"],
                          check=True, capture_output=True, text=True).stdout


def tiers(ranked: list[str]) -> dict[str, int]:
    """Rank order to tiers: the top 1,000 are 3, the top 10,000 are 2, the rest 1."""
    out: dict[str, int] = {}
    for rank, word in enumerate(ranked):
        out.setdefault(word, 3 if rank < 1000 else 2 if rank < 10_000 else 1)
    return out


def first_names(mirror: Path) -> dict[str, int]:
    git_dir = mirror / SSA[0] / "repo"
    listing = subprocess.run(["git", "-C", str(git_dir), "ls-tree", "--name-only", SSA[1],
                              "names/"], check=True, capture_output=True, text=True).stdout
    totals: Counter[str] = Counter()
    for path in listing.split():
        if re.search(r"yob\d{4}\.txt$", path):
            for name, _sex, count in csv.reader(io.StringIO(git_show(mirror, SSA, path))):
                totals[name.casefold()] += int(count)
    return tiers([name for name, count in totals.most_common() if count >= 20])


def surnames(mirror: Path) -> dict[str, int]:
    text = git_show(mirror, CENSUS_1990, "sources/census-1990/dist.all.last")
    return tiers([line.split()[0].casefold() for line in text.splitlines() if line.strip()])


def places(mirror: Path) -> set[str]:
    found: set[str] = set()
    rows = csv.DictReader(io.StringIO(git_show(mirror, GAZETTEER,
                                               "gazetteer/2018_Gaz_place_national.csv")))
    for row in rows:
        name = _PLACE_SUFFIX.sub("", row["NAME"]).strip().casefold()
        if name and name not in _STATES:
            found.add(name)
    counties = csv.DictReader(io.StringIO(git_show(mirror, GAZETTEER,
                                                   "gazetteer/2018_Gaz_counties_national.csv")))
    for row in counties:
        name = row["NAME"].strip().casefold()
        if name.endswith((" county", " parish", " borough")):
            found.add(name)
    return found


def english(dict_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, tier in SCOWL:
        for line in (dict_dir / name).read_text(encoding="utf-8").splitlines():
            word = line.strip()
            if word and word[0].islower() and not word.endswith("'s"):
                out.setdefault(word.casefold(), tier)
    return out


def write(name: str, lines: list[str]) -> None:
    """Gzipped, sorted, with a fixed mtime so a rebuild from the same sources is byte-equal."""
    data = ("\n".join(sorted(lines)) + "\n").encode()
    with (OUT / name).open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)
    print(f"{name}: {len(lines):,} entries, {(OUT / name).stat().st_size:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--dict", type=Path, default=Path("/usr/share/dict"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    write("first_names.tsv.gz", [f"{w}\t{t}" for w, t in first_names(args.mirror).items()])
    write("surnames.tsv.gz", [f"{w}\t{t}" for w, t in surnames(args.mirror).items()])
    write("places.txt.gz", list(places(args.mirror)))
    write("english.tsv.gz", [f"{w}\t{t}" for w, t in english(args.dict).items()])


if __name__ == "__main__":
    main()
