from bot.knowledge.normalize import Normalizer, fold


def test_fold_removes_case_accents_and_punctuation() -> None:
    assert fold("¿Qué PASA, Ñandú?!  it's—fine") == "que pasa nandu it s fine"


def test_synonyms_and_acronyms_become_one_concept_token() -> None:
    normalizer = Normalizer({"domestic violence": ["DV", "IPV", "intimate partner violence"]}, [])
    assert normalizer.words("DV shelter") == ["domestic_violence", "shelter"]
    assert normalizer.words("Intimate-partner violence!") == ["domestic_violence"]
    assert normalizer.words("domestic violence") == ["domestic_violence"]


def test_longer_synonym_variants_win_over_shorter_ones() -> None:
    normalizer = Normalizer({"protective order": ["PO", "order of protection"],
                             "order": ["court order"]}, [])
    assert normalizer.words("an order of protection") == ["an", "protective_order"]


def test_misspelt_words_are_corrected_to_the_knowledge_base_vocabulary() -> None:
    normalizer = Normalizer({}, ["confidentiality and subpoena", "shelter rules"])
    assert normalizer.words("confidentaility subpeona shleter") == [
        "confidentiality", "subpoena", "shelter"]


def test_short_words_and_numbers_are_not_corrected() -> None:
    normalizer = Normalizer({}, ["shelter rules"])
    assert normalizer.correct("rule") is None
    assert normalizer.correct("12345") is None


def test_stemming_meets_plural_and_verb_forms() -> None:
    normalizer = Normalizer({}, [])
    assert normalizer.tokens("releases") == normalizer.tokens("release")
    assert normalizer.tokens("sharing") == normalizer.tokens("share")


def test_chat_shorthand_is_spelled_out_before_matching() -> None:
    words = Normalizer({}).words("15yo w/ her bf, dont know b/c she left w/o her ID")
    assert words == ["15", "year", "old", "with", "her", "boyfriend", "do", "not", "know",
                     "because", "she", "left", "without", "her", "id"]


def test_function_words_are_never_corrected_into_content_words() -> None:
    normalizer = Normalizer({}, ["the shelter thinks about this"])
    assert "thanks" in normalizer.words("thanks!")
