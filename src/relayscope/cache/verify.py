"""The check a semantic candidate must pass before its answer is served.

An embedding says two prompts are *about* the same thing; it does not say they ask the
same question: "Convert 5 km to miles." and "Convert 5 miles to km." are nearly the
same vector. So a candidate found by similarity is served only when the two last user
turns also agree, word for word, on what changes an answer:

- numbers, ids, dates and times, quoted strings and code (``like this``);
- negation (not, never, without, don't, ...), counted on each side;
- names: capitalised words, languages, programming languages, units, currencies,
  days and months, audiences (children, adults, beginners, ...), ordinals, and words
  that have an opposite (increase/decrease, buy/sell, before/after, ...): any of them
  present on one side only refuses the candidate;
- the order of the anchors both sides share (numbers, names, and the words right after
  "from", "to", "than", "into", "vs", ...), so swapped directions and roles are refused;
- the natural language of the prompt;
- a content word added or dropped on one side with nothing in its place.

Each rule is cheap (one pass over both texts, microseconds) and errs on refusing:
a refused paraphrase costs one upstream call, a wrong answer costs much more.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


# Contractions first, so that "don't" counts as a negation and "what's" loses nothing.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONTRACTIONS = (
    (re.compile(r"\bcan[\u2019']t\b"), "can not"),
    (re.compile(r"\bwon[\u2019']t\b"), "will not"),
    (re.compile(r"\bshan[\u2019']t\b"), "shall not"),
    (re.compile(r"n[\u2019']t\b"), " not"),
    (re.compile(r"[\u2019']re\b"), " are"),
    (re.compile(r"[\u2019']ve\b"), " have"),
    (re.compile(r"[\u2019']ll\b"), " will"),
    (re.compile(r"[\u2019']d\b"), " would"),
    (re.compile(r"[\u2019']m\b"), " am"),
    (re.compile(r"\b(it|that|what|there|here|who|how|where|when)[\u2019']s\b", re.I), r"\1 is"),
)
_POSSESSIVE = re.compile(r"\b([A-Za-z]\w*)[\u2019']s\s+([A-Za-z]\w*)")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|`([^`]+)`|(?<!\w)'([^']+)'(?!\w)")
_TOKEN = re.compile(
    r"\d+(?:[.,:/\-]\d+)*(?:st|nd|rd|th|am|pm|k|m|%)?|[#@$€£¥]?\w+(?:[-_.]\w+)*", re.UNICODE
)
_HAS_DIGIT = re.compile(r"\d")

NEGATIONS = _words(
    """
    not no never none nobody nothing neither nor without cannot nowhere exclude
    excluding except avoid non
    """
)
STOPWORDS = _words(
    """
    a an the this that these those is are was were be been being am do does did
    doing have has had having i me my mine we us our you your yours he him his she
    her it its they them their what which who whom whose how why when where there
    here of in on at by for with about as into onto from to again further then once
    so than too very can could will would shall should may might must just also only
    any some all each every both other such own and or but if because while until
    whether please kindly tell me give show let know want need like would could
    really actually quick quickly briefly exactly way get explain describe say help
    is it's i'm hey hi hello thanks thank okay ok um something anything someone
    anyone go going one ones thing things use using used make made
    """
)
# Words after which the next content word takes a role (source, target, comparison).
_ROLE_MARKERS = _words(
    """
    from to into than vs versus over against onto toward towards
    """
)
_DETERMINERS = _words(
    """
    the a an my your our their his her its this that these those
    """
)

_FILLERS = _words(
    """
    city really simply basically actually exactly quickly briefly please kindly just
    typical usually normally generally common standard usual main actual current
    """
)
"""Content words whose presence on one side only changes no answer."""

_LEXICON_TEXT = """
english spanish french german italian portuguese dutch russian chinese mandarin cantonese
japanese korean arabic hindi bengali turkish polish swedish norwegian danish finnish greek
hebrew latin vietnamese thai indonesian ukrainian czech romanian hungarian swahili persian
python javascript typescript java kotlin scala rust go golang ruby php perl swift c c++ c#
csharp haskell elixir erlang clojure lua r matlab julia bash powershell sql postgres
postgresql mysql sqlite mongodb redis html css react vue angular svelte django flask
rails spring node nodejs deno dart fortran cobol assembly zig
km kilometer kilometre mile meter metre feet foot inch inches cm centimeter mm yard
kg kilogram gram g lb lbs pound ounce oz ton tonne liter litre ml milliliter gallon
quart pint cup cups tablespoon teaspoon celsius fahrenheit kelvin degree degrees
second minute hour day week month year decade century
dollar usd euro eur yen jpy pound gbp rupee inr yuan cny franc peso bitcoin btc
monday tuesday wednesday thursday friday saturday sunday weekend weekday
january february march april may june july august september october november december
today tomorrow yesterday tonight morning afternoon evening night noon midnight
spring summer autumn fall winter
am pm utc gmt est pst cet
adult grownup child kid toddler baby infant newborn teen teenager senior elderly
beginner novice expert professional student teacher parent doctor nurse patient
pregnant man woman men women boy girl male female dog cat puppy kitten
first second third fourth fifth sixth seventh eighth ninth tenth last final penultimate
next previous prior following latest earliest oldest newest
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
eighty ninety hundred thousand million billion trillion half quarter double triple
dozen single pair couple
increase decrease raise lower rise fall grow shrink gain lose win loss profit
buy sell purchase lend borrow give take send receive import export upload download
push pull encrypt decrypt compress decompress zip unzip encode decode serialize
deserialize enable disable allow block accept reject approve deny include exclude
add remove insert delete create destroy install uninstall open close start stop
begin end enter exit login logout sign mount unmount lock unlock connect disconnect
before after early late earlier later above below over under inside outside
up down left right top bottom front back north south east west
hot cold warm cool big small large tiny huge little long short tall high low wide
narrow thick thin heavy light fast slow quick cheap expensive rich poor old new
young ancient modern easy hard difficult simple complex safe dangerous unsafe
healthy unhealthy good bad better worse best worst positive negative true false
correct incorrect right wrong legal illegal possible impossible
more less most least many few maximum minimum max min ascending descending
majority minority plus minus multiply divide sum difference product
advantage disadvantage pro con benefit risk strength weakness
input output source destination sender recipient buyer seller employer employee
landlord tenant client server parent child predator prey winner loser
wet dry light dark full empty same different similar opposite
vegan vegetarian kosher halal gluten organic raw cooked
internal external public private local remote global
monthly weekly daily yearly annual hourly
red orange yellow green blue purple black white grey gray brown pink
"""
LEXICON = frozenset(_LEXICON_TEXT.split())
"""Words that change the answer when they appear on one side only, or move."""

SYNONYMS = frozenset(
    frozenset(pair.split("/"))
    for pair in _words(
        """
        movie/film car/automobile buy/purchase begin/start end/finish big/large
        small/little fix/repair error/bug picture/photo photo/image picture/image
        job/work help/assist mistake/error shop/store fast/quick quick/rapid
        answer/reply kid/child house/home speak/talk sick/ill phone/telephone
        tv/television bike/bicycle doctor/physician
        """
    )
)
"""Common synonyms a one-word swap may use (checked before refusing it)."""

# Very common words of a few languages other than English, to tell the prompt's language.
_LANGUAGES = {
    "en": _words("the is are what how why which of and to in for with you your can do does"),
    "es": _words("el la los las es qué cómo por para con una uno del que cuál dónde puedo"),
    "fr": _words("le la les est que comment pour avec une des du est-ce quel quelle où je"),
    "de": _words("der die das ist wie was warum für mit ein eine und ich nicht kann wo"),
    "it": _words("il lo la gli è che come perché per con una uno del della dove posso"),
    "pt": _words("o a os as é que como por para com uma um do da onde posso não"),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the verification compares, read once per text."""

    numbers: tuple[str, ...]
    quoted: frozenset[str]
    negations: int
    names: frozenset[str]
    anchors: tuple[str, ...]
    content: frozenset[str]
    language: str


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_IRREGULAR = {
    "children": "child",
    "kids": "kid",
    "men": "man",
    "women": "woman",
    "feet": "foot",
    "teeth": "tooth",
    "people": "person",
    "mice": "mouse",
    "geese": "goose",
    "data": "data",
}


def _normal(word: str) -> str:
    word = word.lower()
    return _IRREGULAR.get(word) or _stem(word)


_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}


@lru_cache(maxsize=4096)
def read(text: str) -> Reading:
    """The parts of ``text`` the verification step compares."""
    text = unicodedata.normalize("NFKC", text)
    quoted = frozenset(
        next(group for group in match.groups() if group is not None).strip().lower()
        for match in _QUOTED.finditer(text)
    )
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = _POSSESSIVE.sub(r"\2 of \1", text)
    matches = list(_TOKEN.finditer(text))
    numbers: list[str] = []
    names: set[str] = set()
    anchors: list[str] = []
    content: set[str] = set()
    negations = 0
    role_next = False
    after_determiner = False
    for match in matches:
        token = match.group()
        lower = token.lower()
        starts = _starts_sentence(text, match.start())
        if _HAS_DIGIT.search(token) or lower in _NUMBER_WORDS:
            value = _NUMBER_WORDS.get(lower, lower.replace(",", ""))
            numbers.append(value)
            anchors.append(value)
            role_next = False
            continue
        if token[0] in "#@$€£¥" or ("_" in token) or ("." in token and len(token) > 2):
            names.add(lower)
            anchors.append(lower)
            continue
        if lower in NEGATIONS or (lower.startswith("un") and _normal(lower[2:]) in LEXICON):
            negations += 1
        word = _normal(lower)
        if lower in _ROLE_MARKERS:
            role_next = True
            continue
        if lower in _DETERMINERS:
            after_determiner = True
            continue
        if lower in STOPWORDS or lower in NEGATIONS:
            continue
        capitalised = token[0].isupper() and not starts and lower not in STOPWORDS
        acronym = token.isupper() and len(token) > 1
        if capitalised or acronym or word in LEXICON or lower in LEXICON:
            names.add(word)
            anchors.append(word)
        elif role_next or after_determiner:
            anchors.append(word)
        content.add(word)
        role_next = False
        after_determiner = False
    return Reading(
        numbers=tuple(numbers),
        quoted=quoted,
        negations=negations,
        names=frozenset(names),
        anchors=tuple(anchors),
        content=frozenset(content),
        language=_language(text),
    )


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in '.?!:;\n"\u201c(-*•>'


def _language(text: str) -> str:
    if any(ord(ch) > 0x2E80 for ch in text):
        return "cjk"
    words = re.findall(r"[^\W\d_]+", text.lower())
    if any(ord(ch) > 0x24F for word in words for ch in word):
        return "other-script"
    counts = {lang: sum(word in common for word in words) for lang, common in _LANG_SETS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] else "en"


_LANG_SETS = _LANGUAGES


def refusal(new: str, cached: str) -> str | None:
    """Why the answer cached for ``cached`` must not be served for ``new``; None when
    nothing found tells them apart."""
    if new == cached:
        return None
    a, b = read(new), read(cached)
    if a.language != b.language:
        return "language"
    if a.numbers != b.numbers:
        return "numbers"
    if a.quoted != b.quoted:
        return "quoted"
    if a.negations != b.negations:
        return "negation"
    if a.names != b.names:
        return "names"
    if _shared_order(a.anchors, b.anchors) != _shared_order(b.anchors, a.anchors):
        return "order"
    only_a = a.content - b.content - _FILLERS
    only_b = b.content - a.content - _FILLERS
    if bool(only_a) != bool(only_b):
        return "added or dropped"
    if len(only_a) == 1 and len(only_b) == 1 and not _variants(*only_a, *only_b):
        # One content word swapped for another, all else equal: the signature of another
        # drug, place or thing ("ibuprofen with alcohol" / "with aspirin").
        return "word swapped"
    return None


def _variants(a: str, b: str) -> bool:
    """Spelling variants or one word's inflection (colour/color, analyse/analyze)."""
    if frozenset((a, b)) in SYNONYMS:
        return True
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    return prefix >= 5 and prefix >= min(len(a), len(b)) - 2


def _shared_order(ours: tuple[str, ...], theirs: tuple[str, ...]) -> tuple[str, ...]:
    shared = set(ours) & set(theirs)
    seen: list[str] = []
    for anchor in ours:
        if anchor in shared and anchor not in seen:
            seen.append(anchor)
    return tuple(seen)


def same_question(new: str, cached: str) -> bool:
    return refusal(new, cached) is None
