"""An offline generator of fuzzy-function tasks with programmatic ground truth (no external data).

Eleven families, each a parameterised function whose answer Python computes exactly:

==================  ======  ====================================================================
family              output  what varies between tasks
==================  ======  ====================================================================
topic               labels  the category (12 word lists), the label pair
threshold           labels  the quantity and threshold, the direction, the label pair
word_count          labels  the word limit, the label pair
routing             labels  3 of 8 departments (keyword lists) = the label set
sentiment           labels  the label pair, the subject domain
pattern             labels  what to detect (email, URL, digit, question, shouting), the label pair
extract             text    what to pull out (number, email, year, hashtag, quoted word, domain)
case                text    upper, lower, title, snake->camel, camel->snake, word order reversed
date_format         text    input and output date layout (5 x 5 pairs)
normalise           text    phone digits, punctuation stripped, number words, slugs
list_ops            text    an operation on a list of numbers (first, max, sorted, add k, ...)
==================  ======  ====================================================================

Every task has five phrasings of its spec. Training tasks are written with phrasings 1-4 (two
paraphrases per task by default, each its own spec) and light typo noise; validation and test tasks
use phrasing 5 only, which no training spec uses, and never share a task identity with training
(``data.split_of``), so a test spec differs in parameters *and* wording.

What it cannot cover: real-world fuzziness (sarcasm, domain judgement, ambiguous inputs where people
disagree), long inputs, JSON outputs, and labels whose meaning is not in a word list. Inputs come from
a few sentence templates per family, so a model can learn the templates; the held-out phrasing and
parameters test the spec side, not input diversity. ``list_ops`` has the shape of BIG-bench's
``list_functions`` (lists of numbers, the function stated in words), so that benchmark is not out of
format for a hypernetwork trained here; none of its tasks or descriptions are used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from pawflow.program import LabelsOutput, TextOutput
from pawflow.source import Example

from compiler.hypernet.data import FuzzyTask, split_of

HELD_OUT_PHRASING = 4  # index of the phrasing reserved for val/test specs


@dataclass(frozen=True)
class TaskDef:
    """One fuzzy function: identity, phrasings, labels (None: text), and an input sampler with its answer."""

    task_id: str
    family: str
    phrasings: tuple[str, str, str, str, str]
    labels: tuple[str, ...] | None
    sample: Callable[[random.Random], tuple[str, str]]


# --------------------------------------------------------------------------- word lists

CATEGORIES: dict[str, tuple[str, list[str]]] = {
    "animal": ("animals", ["cat", "dog", "horse", "rabbit", "tiger", "sparrow", "cow", "goat", "dolphin", "fox", "owl", "sheep"]),
    "food": ("food", ["bread", "pasta", "apple", "cheese", "soup", "rice", "banana", "pizza", "salad", "carrot", "cake", "noodles"]),
    "vehicle": ("vehicles", ["car", "bus", "truck", "bicycle", "train", "scooter", "van", "tram", "motorbike", "ferry", "taxi", "tractor"]),
    "color": ("colors", ["red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "black", "white", "grey", "violet"]),
    "weather": ("the weather", ["rain", "snow", "storm", "sunshine", "fog", "wind", "hail", "thunder", "drizzle", "heatwave", "frost", "clouds"]),
    "sport": ("sports", ["football", "tennis", "golf", "hockey", "cricket", "rugby", "swimming", "boxing", "cycling", "skiing", "rowing", "baseball"]),
    "instrument": ("musical instruments", ["guitar", "piano", "violin", "drum", "flute", "trumpet", "cello", "harp", "saxophone", "banjo", "clarinet", "ukulele"]),
    "body": ("body parts", ["knee", "elbow", "shoulder", "ankle", "wrist", "finger", "neck", "spine", "hip", "thumb", "jaw", "forehead"]),
    "furniture": ("furniture", ["chair", "table", "sofa", "wardrobe", "desk", "shelf", "bed", "stool", "cabinet", "bench", "dresser", "couch"]),
    "tool": ("tools", ["hammer", "wrench", "screwdriver", "saw", "drill", "pliers", "chisel", "shovel", "ladder", "axe", "rake", "spanner"]),
    "clothing": ("clothing", ["jacket", "shirt", "scarf", "boots", "hat", "gloves", "jeans", "sweater", "dress", "socks", "coat", "sandals"]),
    "metal": ("metals", ["iron", "copper", "silver", "gold", "zinc", "tin", "nickel", "aluminium", "lead", "steel", "bronze", "brass"]),
}
TOPIC_TEMPLATES = [
    "I saw a {w} on my way home.", "The report mentions the {w} twice.", "We talked about the {w} all evening.",
    "Is the {w} still available?", "my neighbour keeps talking about the {w}", "Nobody expected the {w} to be there.",
    "She wrote a short poem about a {w}.", "The {w} was the main topic of the meeting.", "there was a {w} in the photo",
]
NEUTRAL_WORDS = ["meeting", "invoice", "password", "schedule", "printer", "letter", "deadline", "budget", "email", "window"]

LABEL_PAIRS = [("YES", "NO"), ("TRUE", "FALSE"), ("MATCH", "OTHER"), ("POSITIVE", "NEGATIVE"), ("KEEP", "DROP"), ("FLAG", "PASS")]

DEPARTMENTS: dict[str, list[str]] = {
    "BILLING": ["invoice", "refund", "charge", "payment", "receipt", "subscription fee"],
    "TECH": ["login", "password reset", "error message", "crash", "app update", "wifi connection"],
    "SALES": ["quote", "discount", "bulk order", "pricing plan", "demo", "new contract"],
    "SHIPPING": ["delivery", "parcel", "tracking number", "courier", "package", "shipment"],
    "HR": ["vacation days", "payslip", "job application", "sick leave", "contract renewal", "interview"],
    "LEGAL": ["lawsuit", "privacy policy", "copyright claim", "terms of service", "subpoena", "trademark"],
    "FACILITIES": ["broken chair", "air conditioning", "parking space", "office key", "light bulb", "cleaning"],
    "SECURITY": ["phishing email", "stolen laptop", "suspicious login", "badge access", "malware", "data leak"],
}
ROUTE_TEMPLATES = [
    "Hi, I have a question about my {k}.", "Who can help me with the {k}?", "urgent: problem with {k}",
    "Hello team, following up on the {k} from last week.", "I need assistance regarding a {k}.", "{k} issue again, please advise",
]

POSITIVE = ["wonderful", "excellent", "great", "delightful", "fantastic", "lovely", "superb", "pleasant", "brilliant", "amazing"]
NEGATIVE = ["terrible", "awful", "horrible", "disappointing", "dreadful", "poor", "annoying", "broken", "useless", "miserable"]
SUBJECTS = {
    "restaurant": ["the soup", "the service", "the dessert", "our waiter", "the pasta"],
    "hotel": ["the room", "the bed", "the breakfast", "the reception", "the pool"],
    "product": ["the battery", "the screen", "the charger", "the manual", "the packaging"],
    "movie": ["the plot", "the ending", "the soundtrack", "the acting", "the dialogue"],
}

NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Juno", "Kai", "Lena"]
DOMAINS = ["example.com", "mailbox.org", "acme.io", "northwind.net", "contoso.co", "fabrikam.dev"]
WORDS = ["river", "lamp", "orange", "quiet", "window", "garden", "silver", "paper", "cloud", "pencil", "stone", "winter",
         "market", "signal", "forest", "engine", "letter", "mirror", "ticket", "basket"]
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


# --------------------------------------------------------------------------- labels families


def _pair(rng: random.Random) -> tuple[str, str]:
    return rng.choice(LABEL_PAIRS)


def topic_task(rng: random.Random) -> TaskDef:
    cat = rng.choice(sorted(CATEGORIES))
    desc, words = CATEGORIES[cat]
    pos, neg = rng.choice(LABEL_PAIRS + [(cat.upper(), "OTHER")])
    others = [w for c, (_, ws) in CATEGORIES.items() if c != cat for w in ws] + NEUTRAL_WORDS

    def sample(r: random.Random) -> tuple[str, str]:
        hit = r.random() < 0.5
        return r.choice(TOPIC_TEMPLATES).format(w=r.choice(words if hit else others)), pos if hit else neg

    return TaskDef(f"topic:{cat}:{pos}/{neg}", "topic", (
        f"Answer {pos} if the text mentions {desc}, otherwise {neg}.",
        f"Does this sentence talk about {desc}? Reply {pos} or {neg}.",
        f"Label each line: {pos} when it refers to {desc}, {neg} for anything else.",
        f"You get one sentence. If it names any of {desc} (for example {words[0]} or {words[1]}), output {pos}; if not, output {neg}.",
        f"Tag the input {pos} whenever {desc} come up in it and {neg} when they do not.",
    ), (pos, neg), sample)


THRESHOLD_KINDS = {
    "temperature": ("temperature", ["temp reading: {v} C", "sensor 4 reports {v} degrees", "current temperature {v}"]),
    "price": ("price", ["price: {v} dollars", "this costs ${v}", "total due {v} USD"]),
    "score": ("score", ["final score {v}", "the student scored {v} points", "score={v}"]),
    "speed": ("speed", ["measured speed {v} km/h", "driving at {v} km/h", "speed log: {v}"]),
}


def threshold_task(rng: random.Random) -> TaskDef:
    kind = rng.choice(sorted(THRESHOLD_KINDS))
    noun, templates = THRESHOLD_KINDS[kind]
    t = rng.choice([10, 20, 30, 40, 50, 60, 75, 100, 150, 200])
    pos, neg = rng.choice([("HIGH", "LOW"), ("ABOVE", "BELOW"), ("OVER", "UNDER"), ("BIG", "SMALL"), ("ALERT", "OK")])

    def sample(r: random.Random) -> tuple[str, str]:
        v = r.randint(max(0, t // 3), t * 2)
        if v == t:
            v += 1
        return r.choice(templates).format(v=v), pos if v > t else neg

    return TaskDef(f"threshold:{kind}:{t}:{pos}/{neg}", "threshold", (
        f"Read the {noun} in the text. Output {pos} if it is greater than {t}, otherwise {neg}.",
        f"Is the {noun} above {t}? Answer {pos} for yes and {neg} for no.",
        f"Classify the {noun}: more than {t} is {pos}, {t} or less is {neg}.",
        f"The input reports a {noun}. Compare it with {t} and say {pos} when it exceeds it, {neg} otherwise.",
        f"{pos} means the {noun} mentioned goes past {t}; {neg} means it stays at or under {t}. Give one of them.",
    ), (pos, neg), sample)


def word_count_task(rng: random.Random) -> TaskDef:
    n = rng.randint(3, 9)
    pos, neg = rng.choice([("LONG", "SHORT"), ("WORDY", "BRIEF"), ("BIG", "SMALL"), ("YES", "NO")])

    def sample(r: random.Random) -> tuple[str, str]:
        k = r.choice([r.randint(1, n), r.randint(n + 1, n + 6)])
        return " ".join(r.choice(WORDS) for _ in range(k)), pos if k > n else neg

    return TaskDef(f"word_count:{n}:{pos}/{neg}", "word_count", (
        f"Count the words in the message. More than {n} words: {pos}. Otherwise: {neg}.",
        f"Say {pos} if the text has over {n} words and {neg} if it has {n} or fewer.",
        f"Decide whether the line is longer than {n} words ({pos}) or not ({neg}).",
        f"Messages with at most {n} words are {neg}; longer ones are {pos}.",
        f"Answer {pos} when the input contains {n + 1} words or more, else answer {neg}.",
    ), (pos, neg), sample)


def routing_task(rng: random.Random) -> TaskDef:
    depts = sorted(rng.sample(sorted(DEPARTMENTS), 3))
    desc = "; ".join(f"{d} for {', '.join(DEPARTMENTS[d][:3])}" for d in depts)

    def sample(r: random.Random) -> tuple[str, str]:
        d = r.choice(depts)
        return r.choice(ROUTE_TEMPLATES).format(k=r.choice(DEPARTMENTS[d])), d

    names = ", ".join(depts)
    return TaskDef(f"routing:{'+'.join(depts)}", "routing", (
        f"Route each customer message to a team: {desc}. Answer with the team name.",
        f"Which department should handle this request? Options: {names}. {desc}.",
        f"Send the ticket to {names}. Use the topic: {desc}.",
        f"You are a help-desk router. Teams: {desc}. Reply with exactly one of {names}.",
        f"Pick the queue ({names}) this message belongs in, judging by what it is about ({desc}).",
    ), tuple(depts), sample)


def sentiment_task(rng: random.Random) -> TaskDef:
    domain = rng.choice(sorted(SUBJECTS))
    pos, neg = rng.choice([("POSITIVE", "NEGATIVE"), ("GOOD", "BAD"), ("HAPPY", "UNHAPPY"), ("LIKE", "DISLIKE"), ("PRAISE", "COMPLAINT")])

    def sample(r: random.Random) -> tuple[str, str]:
        good = r.random() < 0.5
        adj = r.choice(POSITIVE if good else NEGATIVE)
        text = r.choice(["{s} was {a}.", "Honestly, {s} was {a}!", "I thought {s} was {a}", "{s}: {a}, really {a}."]).format(
            s=r.choice(SUBJECTS[domain]), a=adj)
        return text[0].upper() + text[1:], pos if good else neg

    return TaskDef(f"sentiment:{domain}:{pos}/{neg}", "sentiment", (
        f"Is this {domain} review positive or negative? Answer {pos} or {neg}.",
        f"Classify the opinion in the {domain} review: {pos} if the writer liked it, {neg} if not.",
        f"Read a short {domain} review and say {pos} for a favourable one, {neg} for an unfavourable one.",
        f"Sentiment of the {domain} feedback: {pos} (happy customer) or {neg} (unhappy customer).",
        f"Output {pos} when the {domain} comment praises something and {neg} when it criticises it.",
    ), (pos, neg), sample)


PATTERNS: dict[str, tuple[str, Callable[[random.Random, bool], str]]] = {
    "email": ("an email address", lambda r, hit: f"contact {r.choice(NAMES).lower()}@{r.choice(DOMAINS)} today" if hit
              else f"contact {r.choice(NAMES)} at the {r.choice(WORDS)} desk today"),
    "url": ("a web link (URL)", lambda r, hit: f"see https://{r.choice(DOMAINS)}/{r.choice(WORDS)} for details" if hit
            else f"see the {r.choice(WORDS)} page for details"),
    "digit": ("a digit", lambda r, hit: f"{r.choice(WORDS)} {r.randint(0, 999)} {r.choice(WORDS)}" if hit
              else f"{r.choice(WORDS)} {r.choice(WORDS)} {r.choice(WORDS)}"),
    "question": ("a question", lambda r, hit: f"can you check the {r.choice(WORDS)}?" if hit
                 else f"please check the {r.choice(WORDS)}."),
    "shouting": ("shouting (all capital letters)", lambda r, hit: f"THE {r.choice(WORDS).upper()} IS {r.choice(WORDS).upper()}" if hit
                 else f"the {r.choice(WORDS)} is {r.choice(WORDS)}"),
}


def pattern_task(rng: random.Random) -> TaskDef:
    kind = rng.choice(sorted(PATTERNS))
    desc, make = PATTERNS[kind]
    pos, neg = _pair(rng)

    def sample(r: random.Random) -> tuple[str, str]:
        hit = r.random() < 0.5
        return make(r, hit), pos if hit else neg

    return TaskDef(f"pattern:{kind}:{pos}/{neg}", "pattern", (
        f"Output {pos} if the line contains {desc}, else {neg}.",
        f"Does the text include {desc}? {pos} or {neg}.",
        f"Check each message for {desc}: {pos} when present, {neg} when absent.",
        f"Flag lines with {desc} as {pos}; all other lines are {neg}.",
        f"Say {pos} for inputs where {desc} appears and {neg} where it does not.",
    ), (pos, neg), sample)


# --------------------------------------------------------------------------- text families


def extract_task(rng: random.Random) -> TaskDef:
    kind = rng.choice(["number", "email", "year", "hashtag", "quoted", "domain"])

    def sample(r: random.Random) -> tuple[str, str]:
        w1, w2, name = r.choice(WORDS), r.choice(WORDS), r.choice(NAMES)
        if kind == "number":
            v = str(r.randint(2, 9999))
            return f"{name} ordered {v} {w1}s for the {w2}", v
        if kind == "email":
            v = f"{name.lower()}.{w1}@{r.choice(DOMAINS)}"
            return f"please write to {v} about the {w2}", v
        if kind == "year":
            v = str(r.randint(1950, 2030))
            return f"The {w1} was built in {v} near the {w2}.", v
        if kind == "hashtag":
            v = f"#{w1}{r.choice(['', 'day', 'life', str(r.randint(1, 99))])}"
            return f"loving this {w2} {v} with {name}", v
        if kind == "quoted":
            return f'{name} said "{w1}" when asked about the {w2}', w1
        domain = r.choice(DOMAINS)
        return f"the docs are at https://www.{domain}/{w1}/{w2}", domain

    what = {"number": ("the number", "number"), "email": ("the email address", "email address"),
            "year": ("the year", "four-digit year"), "hashtag": ("the hashtag", "hashtag (with its #)"),
            "quoted": ("the word in double quotes", "quoted word (without the quotes)"),
            "domain": ("the domain name of the link", "domain (no https://, no www., no path)")}[kind]
    return TaskDef(f"extract:{kind}", "extract", (
        f"Extract {what[0]} from the text and output only that.",
        f"Return the {what[1]} that appears in the input, nothing else.",
        f"Find {what[0]} in the sentence. Answer with it alone.",
        f"Pull out {what[0]}. Output just the {what[1]}.",
        f"Copy {what[0]} from the message; reply with nothing but the {what[1]}.",
    ), None, sample)


def _snake(words: list[str]) -> str:
    return "_".join(words)


def _camel(words: list[str]) -> str:
    return words[0] + "".join(w.capitalize() for w in words[1:])


def case_task(rng: random.Random) -> TaskDef:
    kind = rng.choice(["upper", "lower", "title", "snake_to_camel", "camel_to_snake", "reverse_words"])

    def sample(r: random.Random) -> tuple[str, str]:
        words = [r.choice(WORDS) for _ in range(r.randint(2, 4))]
        if kind == "upper":
            return " ".join(words), " ".join(words).upper()
        if kind == "lower":
            text = " ".join(w.upper() if r.random() < 0.5 else w.capitalize() for w in words)
            return text, text.lower()
        if kind == "title":
            return " ".join(words), " ".join(w.capitalize() for w in words)
        if kind == "snake_to_camel":
            return _snake(words), _camel(words)
        if kind == "camel_to_snake":
            return _camel(words), _snake(words)
        return " ".join(words), " ".join(reversed(words))

    what = {"upper": "in capital letters (uppercase)", "lower": "in small letters (lowercase)",
            "title": "with every word capitalised (Title Case)", "snake_to_camel": "from snake_case to camelCase",
            "camel_to_snake": "from camelCase to snake_case", "reverse_words": "with the order of its words reversed"}[kind]
    return TaskDef(f"case:{kind}", "case", (
        f"Rewrite the input {what}.",
        f"Convert the text {what} and output the result only.",
        f"Return the same words {what}.",
        f"Output the input string {what}; change nothing else.",
        f"Give back the text {what}, with no other changes.",
    ), None, sample)


DATE_LAYOUTS = {
    "iso": ("YYYY-MM-DD", lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}"),
    "eu": ("DD/MM/YYYY", lambda y, m, d: f"{d:02d}/{m:02d}/{y:04d}"),
    "us": ("MM/DD/YYYY", lambda y, m, d: f"{m:02d}/{d:02d}/{y:04d}"),
    "long": ("Month D, YYYY", lambda y, m, d: f"{MONTHS[m - 1]} {d}, {y}"),
    "dots": ("DD.MM.YYYY", lambda y, m, d: f"{d:02d}.{m:02d}.{y:04d}"),
}


def date_task(rng: random.Random) -> TaskDef:
    src, dst = rng.sample(sorted(DATE_LAYOUTS), 2)
    (src_name, src_fmt), (dst_name, dst_fmt) = DATE_LAYOUTS[src], DATE_LAYOUTS[dst]

    def sample(r: random.Random) -> tuple[str, str]:
        y, m, d = r.randint(1990, 2035), r.randint(1, 12), r.randint(1, 28)
        return src_fmt(y, m, d), dst_fmt(y, m, d)

    return TaskDef(f"date:{src}->{dst}", "date_format", (
        f"Convert the date from {src_name} to {dst_name}.",
        f"The input is a date written as {src_name}. Rewrite it as {dst_name}.",
        f"Reformat {src_name} dates into {dst_name} format.",
        f"Change the date layout: input {src_name}, output {dst_name}.",
        f"Given a {src_name} date, answer with the same day in {dst_name} form.",
    ), None, sample)


def normalise_task(rng: random.Random) -> TaskDef:
    kind = rng.choice(["phone", "punctuation", "number_word", "slug"])

    def sample(r: random.Random) -> tuple[str, str]:
        if kind == "phone":
            digits = "".join(str(r.randint(0, 9)) for _ in range(10))
            layout = r.choice(["({}) {}-{}", "{}-{}-{}", "{}.{}.{}", "{} {} {}"])
            return layout.format(digits[:3], digits[3:6], digits[6:]), digits
        if kind == "punctuation":
            words = [r.choice(WORDS) for _ in range(r.randint(2, 4))]
            text = "".join(w + r.choice([",", "!", ".", ";", "?", ""]) + " " for w in words).strip()
            return text, re.sub(r"[^\w\s]", "", text)
        if kind == "number_word":
            n = r.randint(0, 12)
            return f"{NUMBER_WORDS[n]} {r.choice(WORDS)}s", str(n)
        words = [r.choice(WORDS).capitalize() for _ in range(r.randint(2, 4))]
        return " ".join(words), "-".join(w.lower() for w in words)

    what = {"phone": ("the phone number as its ten digits only", "digits only, no spaces or symbols"),
            "punctuation": ("the text with all punctuation removed", "the words and spaces, no punctuation marks"),
            "number_word": ("the number written in words, as digits", "the count in digits only"),
            "slug": ("the title as a URL slug", "lowercase words joined by hyphens")}[kind]
    return TaskDef(f"normalise:{kind}", "normalise", (
        f"Normalise the input: output {what[0]}.",
        f"Return {what[0]} ({what[1]}).",
        f"Clean up the text. Answer with {what[0]}.",
        f"Produce {what[1]} from the input: {what[0]}.",
        f"Turn the input into {what[0]}, written as {what[1]}.",
    ), None, sample)


LIST_OPS: dict[str, tuple[str, Callable[[list[int]], object]]] = {
    "first": ("the first element", lambda xs: xs[0]),
    "last": ("the last element", lambda xs: xs[-1]),
    "max": ("the largest number", max),
    "min": ("the smallest number", min),
    "sum": ("the sum of the numbers", sum),
    "length": ("how many numbers there are", len),
    "sort_asc": ("the list sorted from smallest to largest", sorted),
    "sort_desc": ("the list sorted from largest to smallest", lambda xs: sorted(xs, reverse=True)),
    "reverse": ("the list in reverse order", lambda xs: xs[::-1]),
    "dedupe": ("the list without repeated numbers, first occurrences kept", lambda xs: list(dict.fromkeys(xs))),
    "first_two": ("the first two elements", lambda xs: xs[:2]),
    "drop_first": ("the list without its first element", lambda xs: xs[1:]),
    "keep_even": ("only the even numbers, in order", lambda xs: [x for x in xs if x % 2 == 0]),
    "keep_odd": ("only the odd numbers, in order", lambda xs: [x for x in xs if x % 2 == 1]),
    "plus_one": ("every number increased by 1", lambda xs: [x + 1 for x in xs]),
    "double": ("every number multiplied by 2", lambda xs: [x * 2 for x in xs]),
    "count_even": ("how many even numbers there are", lambda xs: sum(1 for x in xs if x % 2 == 0)),
    "second": ("the second element", lambda xs: xs[1]),
}


def list_task(rng: random.Random) -> TaskDef:
    op = rng.choice(sorted(LIST_OPS))
    desc, fn = LIST_OPS[op]

    def sample(r: random.Random) -> tuple[str, str]:
        xs = [r.randint(0, 20 if op == "dedupe" else 99) for _ in range(r.randint(3, 7))]
        if op == "keep_even" and not any(x % 2 == 0 for x in xs):
            xs[0] += 1
        if op == "keep_odd" and not any(x % 2 for x in xs):
            xs[0] += 1
        value = fn(xs)
        return "[" + ", ".join(map(str, xs)) + "]", ("[" + ", ".join(map(str, value)) + "]") if isinstance(value, list) else str(value)

    return TaskDef(f"list:{op}", "list_ops", (
        f"Given a list of numbers, return {desc}.",
        f"The input is a list of integers. Output {desc}.",
        f"Apply this function to the list: {desc}.",
        f"For a list like [3, 1, 2], answer with {desc}.",
        f"Take the list of numbers and produce {desc}.",
    ), None, sample)


FAMILIES: dict[str, Callable[[random.Random], TaskDef]] = {
    "topic": topic_task, "threshold": threshold_task, "word_count": word_count_task, "routing": routing_task,
    "sentiment": sentiment_task, "pattern": pattern_task, "extract": extract_task, "case": case_task,
    "date_format": date_task, "normalise": normalise_task, "list_ops": list_task,
}


# --------------------------------------------------------------------------- noise and assembly


def typo_noise(text: str, rng: random.Random, rate: float) -> str:
    """Swap, drop or double one letter in a fraction ``rate`` of the longer words (as people type)."""
    out = []
    for word in text.split(" "):
        if len(word) > 3 and word.isalpha() and rng.random() < rate:
            i = rng.randrange(1, len(word) - 1)
            choice = rng.randrange(3)
            if choice == 0:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif choice == 1:
                word = word[:i] + word[i + 1 :]
            else:
                word = word[:i] + word[i] + word[i:]
        out.append(word)
    return " ".join(out)


def _rows(task: TaskDef, rng: random.Random, n: int) -> list[Example]:
    """``n`` distinct rows; label tasks are balanced by cycling through the labels."""
    rows: list[Example] = []
    seen: set[str] = set()
    want = list(task.labels or ())
    attempts = 0
    while len(rows) < n and attempts < n * 60:
        attempts += 1
        text, answer = task.sample(rng)
        if text in seen:
            continue
        if want and answer != want[len(rows) % len(want)] and attempts < n * 30:
            continue
        seen.add(text)
        rows.append(Example(input=text, output=answer))
    return rows


def generate_tasks(
    *, n_task_draws: int = 1200, rows_per_spec: int = 40, paraphrases: int = 2, typo_rate: float = 0.04, seed: int = 0,
) -> list[FuzzyTask]:
    """Draw tasks round-robin over the families (duplicates of a task identity are dropped) and render specs.

    Train tasks get ``paraphrases`` specs from phrasings 1-4, each with typo noise and its own rows;
    val/test tasks get one spec in the held-out phrasing, without noise.
    """
    rng = random.Random(seed)
    families = list(FAMILIES.values())
    defs: dict[str, TaskDef] = {}
    for i in range(n_task_draws):
        task = families[i % len(families)](rng)
        defs.setdefault(task.task_id, task)
    out: list[FuzzyTask] = []
    for task_id in sorted(defs):
        task = defs[task_id]
        split = split_of(task_id)
        task_rng = random.Random(f"{seed}:{task_id}")
        if split == "train":
            picks = task_rng.sample(range(HELD_OUT_PHRASING), min(paraphrases, HELD_OUT_PHRASING))
            specs = [typo_noise(task.phrasings[p], task_rng, typo_rate) for p in picks]
        else:
            specs = [task.phrasings[HELD_OUT_PHRASING]]
        output = LabelsOutput(labels=list(task.labels)) if task.labels else TextOutput()
        for spec in dict.fromkeys(specs):
            rows = _rows(task, task_rng, rows_per_spec)
            if len(rows) < 8:
                continue
            out.append(FuzzyTask(spec=spec, task_id=task_id, family=task.family, output=output, rows=rows, split=split))
    return out
