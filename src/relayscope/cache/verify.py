"""The check a semantic candidate must pass before its answer is served.

An embedding says two prompts are *about* the same thing; it does not say they ask the
same question: "Convert 5 km to miles." and "Convert 5 miles to km." are nearly the
same vector. So a candidate found by similarity is served only when the two last user
turns (whole, never cut) also agree on what changes an answer:

- the natural language of the prompt;
- numbers, ids, dates and times, quoted strings and code (``like this``), in order;
- negation (not, never, without, don't, un-, non-), counted on each side;
- names: capitalised words and acronyms, and the members of closed classes where any
  difference changes the answer (languages, programming languages, units, currencies,
  days, months, seasons, audiences such as children/adults/beginners, ordinals);
- opposites: a word on one side whose opposite is on the other (increase/decrease,
  buy/sell, before/after, cheapest/most expensive...);
- the order of the anchors both sides share (numbers, names, and the words after
  "from", "to", "than", "into", "vs", a determiner or a preposition), so swapped
  directions and roles are refused;
- a content word added or dropped on one side with nothing in its place (an option);
- one noun swapped for another with everything else equal (another drug, food, job).

Each rule is one pass over both texts (tens of microseconds, cached per text) and errs
on refusing: a refused paraphrase costs one upstream call, a wrong answer much more.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _pairs(text: str) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(pair.split("/")) for pair in text.split())


# Contractions first, so that "don't" counts as a negation and "what's" loses nothing.
_CONTRACTIONS = (
    (re.compile(r"\bcan[\u2019']t\b", re.I), "can not"),
    (re.compile(r"\bwon[\u2019']t\b", re.I), "will not"),
    (re.compile(r"\bshan[\u2019']t\b", re.I), "shall not"),
    (re.compile(r"n[\u2019']t\b", re.I), " not"),
    (re.compile(r"[\u2019']re\b", re.I), " are"),
    (re.compile(r"[\u2019']ve\b", re.I), " have"),
    (re.compile(r"[\u2019']ll\b", re.I), " will"),
    (re.compile(r"[\u2019']d\b", re.I), " would"),
    (re.compile(r"[\u2019']m\b", re.I), " am"),
    (re.compile(r"\b(it|that|what|there|here|who|how|where|when)[\u2019']s\b", re.I), r"\1 is"),
    (re.compile(r"\bnon-", re.I), "non "),
    # "What's the best way to X?" asks "how do I X?".
    (
        re.compile(
            r"\b(?:the |a )?(?:best|right|proper|correct|good|easiest|simplest|recommended) "
            r"(?:way|method|approach) (?:to|of)\b",
            re.I,
        ),
        "how to",
    ),
)
_POSSESSIVE = re.compile(r"\b([A-Za-z]\w*)[\u2019']s\s+([A-Za-z]\w*)")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|`([^`]+)`|(?<!\w)'([^']+)'(?!\w)")
_TOKEN = re.compile(
    r"\d+(?:[.,:/\-]\d+)*(?:st|nd|rd|th|am|pm|k|m|%)?|[#@$€£¥]?\w+(?:[-_.]\w+)*", re.UNICODE
)
_HAS_DIGIT = re.compile(r"\d")

NEGATIONS = _words("not no never none nobody nothing neither nor without cannot nowhere non")
_NOT_UN = _words("under until unit union universe university unique uniform understand unless")

STOPWORDS = _words(
    """
    a an the this that these those is are was were be been being am do does did
    doing have has had having i me my mine we us our you your yours he him his she
    her it its they them their what which who whom whose how why when where there
    here of in on at by for with about as into onto from to again further then once
    so than too very can could will would shall should may might must just also only
    any some all each every both other such own and or but if because while until
    whether please kindly tell give show let know want need like really actually
    quickly briefly exactly way get explain describe say help hey hi hello thanks thank
    okay ok um something anything someone anyone go going ones thing things use using
    used make made
    """
)
_SUBJECTS = _words("i you we they to please can could should do does did will would let")
"""A content word right after one of these is taken as a verb (for the one-word swap)."""
_ROLE_MARKERS = _words("from to into than vs versus against onto toward towards between")
"""After these the next content word takes a role: source, target, the compared."""
_NOUN_MARKERS = _words(
    "the a an my your our their his her its this that these those of for with in on at by about"
)

_FILLERS = _words(
    """
    city really simply basically actually exactly quickly briefly please kindly just
    typical usually normally generally common standard usual main actual current
    step process method reason role purpose function formula idea tip kind type
    work happen mean example detail information guide instruction share provide list
    name suggest recommend offer look feel
    """
)
"""Words of the question's framing: present on one side only, they change no answer."""

CLASSES = _words(
    """
    english spanish french german italian portuguese dutch russian chinese mandarin
    cantonese japanese korean arabic hindi bengali turkish polish swedish norwegian
    danish finnish greek hebrew latin vietnamese thai indonesian ukrainian czech
    romanian hungarian swahili persian
    python javascript typescript java kotlin scala rust golang ruby php perl swift c++
    c# csharp haskell elixir erlang clojure lua matlab julia bash powershell sql postgres
    postgresql mysql sqlite mongodb redis html css react vue angular svelte django flask
    rails node nodejs deno dart fortran cobol assembly zig json yaml xml csv toml
    km kilometer kilometre mile meter metre foot inch cm centimeter mm millimeter yard
    kg kilogram gram lb pound ounce oz ton tonne liter litre ml milliliter gallon quart
    pint cup tablespoon teaspoon celsius fahrenheit kelvin
    second minute hour day week month year decade century
    dollar usd euro eur yen jpy gbp rupee inr yuan cny franc peso bitcoin btc
    monday tuesday wednesday thursday friday saturday sunday weekend weekday
    january february april june july august september october november december
    today tomorrow yesterday tonight morning afternoon evening night noon midnight
    spring summer autumn winter am pm utc gmt est pst cet
    adult grownup child kid toddler baby infant newborn teen teenager senior elderly
    retiree beginner novice expert professional student teacher parent pregnant man
    woman boy girl male female grandmother grandfather nephew niece son daughter
    employee customer dog cat puppy kitten
    first second third fourth fifth sixth seventh eighth ninth tenth last final
    penultimate next previous prior latest earliest
    eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen
    twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million
    billion trillion half quarter double triple dozen
    red orange yellow green blue purple black white grey gray brown pink
    """
)
"""Closed classes: any member on one side only changes the answer."""

OPPOSITES = _pairs(
    """
    increase/decrease raise/lower rise/drop grow/shrink gain/lose win/lose profit/loss
    buy/sell lend/borrow send/receive import/export upload/download push/pull
    encrypt/decrypt compress/decompress zip/unzip encode/decode serialize/deserialize
    enable/disable allow/block accept/reject approve/deny include/exclude add/remove
    insert/delete create/destroy install/uninstall open/close start/stop begin/end
    enter/exit login/logout mount/unmount lock/unlock connect/disconnect
    before/after early/late above/below inside/outside in/out up/down over/under
    left/right top/bottom front/back north/south east/west hot/cold warm/cool
    big/small large/small tiny/huge long/short tall/short high/low wide/narrow
    thick/thin heavy/light fast/slow cheap/expensive rich/poor old/new old/young
    ancient/modern easy/hard easy/difficult simple/complex safe/dangerous
    healthy/unhealthy good/bad better/worse best/worst positive/negative true/false
    correct/incorrect right/wrong legal/illegal possible/impossible more/less
    most/least many/few maximum/minimum max/min ascending/descending plus/minus
    multiply/divide advantage/disadvantage pro/con benefit/risk benefit/drawback
    strength/weakness input/output source/destination sender/recipient buyer/seller
    employer/employee landlord/tenant client/server predator/prey winner/loser
    wet/dry light/dark full/empty same/different similar/different internal/external
    public/private local/remote strong/weak stronger/weaker formal/informal
    upgrade/downgrade freeze/thaw freeze/defrost merge/split heat/cool
    subscribe/unsubscribe follow/unfollow
    """
)
_OPPOSITE: dict[str, frozenset[str]] = {}
for _pair in OPPOSITES:
    for _word in _pair:
        _OPPOSITE[_word] = _OPPOSITE.get(_word, frozenset()) | (_pair - {_word})

SYNONYMS = _pairs(
    """
    movie/film car/automobile buy/purchase begin/start end/finish fix/repair
    error/bug picture/photo photo/image picture/image job/work help/assist
    mistake/error shop/store answer/reply house/home speak/talk sick/ill
    phone/telephone tv/television bike/bicycle doctor/physician
    write/compose write/draft compose/draft generate/produce create/produce
    teach/train handle/manage recommend/suggest show/display choose/pick
    remove/eliminate build/construct discuss/talk reduce/cut
    """
)
"""Common synonyms a one-word noun swap may use (checked before refusing it)."""

# Very common words of a few languages other than English, to tell the prompt's language.
_LANGUAGES = {
    "en": STOPWORDS,
    "es": _words("el la los las es qué cómo por para con una uno del que cuál dónde puedo"),
    "fr": _words("le la les est que comment pour avec une des du quel quelle où je dit-on"),
    "de": _words("der die das ist wie was warum für mit ein eine und ich nicht kann wo mir"),
    "it": _words("il lo la gli è che come perché per con una uno del della dove posso"),
    "pt": _words("o os as é que como por para com uma um do da onde posso não faço"),
}

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
    "inches": "inch",
}
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the verification compares, read once per text."""

    numbers: tuple[str, ...]
    quoted: frozenset[str]
    negations: int
    names: frozenset[str]
    opposable: frozenset[str]
    anchors: tuple[str, ...]
    content: frozenset[str]
    sequence: tuple[str, ...]
    """The content words in order."""
    verbs: frozenset[str]
    language: str


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _normal(lower: str) -> str:
    return _IRREGULAR.get(lower) or _stem(lower)


def _base(word: str) -> str:
    """A comparative or superlative back to its adjective when that one has an opposite:
    cheapest -> cheap, hottest -> hot, larger -> large, easier -> easy."""
    if word in _OPPOSITE:
        return word
    for suffix, add in (
        ("iest", "y"),
        ("ier", "y"),
        ("est", ""),
        ("er", ""),
        ("st", ""),
        ("r", ""),
    ):
        if word.endswith(suffix):
            root = word[: -len(suffix)] + add
            if root in _OPPOSITE:
                return root
            if len(root) > 2 and root[-1] == root[-2] and root[:-1] in _OPPOSITE:
                return root[:-1]
    return word


@lru_cache(maxsize=1024)
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
    numbers: list[str] = []
    names: set[str] = set()
    opposable: set[str] = set()
    anchors: list[str] = []
    content: set[str] = set()
    sequence: list[str] = []
    verbs: set[str] = set()
    negations = 0
    previous = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        lower = token.lower()
        before, previous = previous, lower
        if _HAS_DIGIT.search(token) or lower in _NUMBER_WORDS:
            value = _NUMBER_WORDS.get(lower, lower.replace(",", ""))
            numbers.append(value)
            anchors.append(value)
            continue
        if token[0] in "#@$€£¥" or "_" in token or ("." in token and len(token) > 2):
            names.add(lower)
            anchors.append(lower)
            continue
        if lower in NEGATIONS:
            negations += 1
            continue
        if (
            lower.startswith("un")
            and len(lower) > 5
            and not any(lower.startswith(w) for w in _NOT_UN)
        ):
            negations += 1
            lower = lower[2:]
        word = _normal(lower)
        base = _base(word)
        if base in _OPPOSITE:
            opposable.add(base)
        if lower in STOPWORDS or word in STOPWORDS:
            continue
        starts = _starts_sentence(text, match.start())
        capitalised = token[0].isupper() and not starts
        acronym = token.isupper() and len(token) > 1
        if capitalised or acronym or word in CLASSES or lower in CLASSES:
            names.add(word)
            anchors.append(word)
        elif before in _ROLE_MARKERS or before in _NOUN_MARKERS:
            anchors.append(word)
        if starts or before in _SUBJECTS:
            verbs.add(word)
        content.add(word)
        sequence.append(word)
    return Reading(
        numbers=tuple(numbers),
        quoted=quoted,
        negations=negations,
        names=frozenset(names),
        opposable=frozenset(opposable),
        anchors=tuple(anchors),
        content=frozenset(content),
        sequence=tuple(sequence),
        verbs=frozenset(verbs),
        language=_language(text),
    )


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in '.?!:;\n"\u201c(-*>'


def _language(text: str) -> str:
    if any(ord(ch) > 0x2E80 for ch in text):
        return "cjk"
    words = re.findall(r"[^\W\d_]+", text.lower())
    if any(ord(ch) > 0x24F for word in words for ch in word):
        return "other-script"
    counts = {lang: sum(word in common for word in words) for lang, common in _LANGUAGES.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == "en"))
    return best if counts[best] else "en"


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
    only_a, only_b = a.opposable - b.opposable, b.opposable - a.opposable
    if any(_OPPOSITE[word] & only_b for word in only_a):
        return "opposite"
    if _shared_order(a.anchors, b.anchors) != _shared_order(b.anchors, a.anchors):
        return "order"
    if a.content == b.content and a.sequence != b.sequence and _swapped(a, b):
        return "order"
    added = a.content - b.content - _FILLERS
    dropped = b.content - a.content - _FILLERS
    if bool(added) != bool(dropped):
        return "added or dropped"
    if len(added) == 1 and len(dropped) == 1:
        (x,), (y,) = added, dropped
        # One word swapped for another, all else equal: another drug, place or thing
        # ("ibuprofen with alcohol" / "with aspirin"), or another action ("merge two
        # branches" / "rebase two branches"), unless the two are known synonyms.
        if not _variants(x, y):
            return "word swapped"
    return None


_MAX_SWAP_WORDS = 64


def _swapped(a: Reading, b: Reading) -> bool:
    """The same words in another order, with two of them trading places around a pivot
    that stays between them: "is tea healthier than coffee" / "is coffee healthier than
    tea", "the dog chases the cat" / "the cat chases the dog". Words that only move
    ("job interview tips" / "tips for a job interview") and verbs are let through."""
    if len(a.sequence) > _MAX_SWAP_WORDS or len(b.sequence) > _MAX_SWAP_WORDS:
        return True  # long texts in another order: not worth the risk
    pos_a = {word: i for i, word in reversed(list(enumerate(a.sequence)))}
    pos_b = {word: i for i, word in reversed(list(enumerate(b.sequence)))}
    verbs = a.verbs | b.verbs
    words = [word for word in pos_a if word not in verbs]
    for i, x in enumerate(words):
        for y in words[i + 1 :]:
            if (pos_a[x] < pos_a[y]) == (pos_b[x] < pos_b[y]):
                continue
            lo_a, hi_a = sorted((pos_a[x], pos_a[y]))
            lo_b, hi_b = sorted((pos_b[x], pos_b[y]))
            if set(a.sequence[lo_a + 1 : hi_a]) & set(b.sequence[lo_b + 1 : hi_b]):
                return True
    return False


def _variants(a: str, b: str) -> bool:
    """Synonyms, spelling variants or one word's inflections (colour/color)."""
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
