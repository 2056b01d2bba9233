"""Company names to ticker symbols: an exact lookup under the ``tc-arg`` extractor.

Which words of a request name the company is the program's (fuzzy) decision; which symbol a listed
company trades under is a fact, so it is a table, like the language lexicon in :mod:`.text`. The table
is hand-written (no installable package ships an offline name-to-ticker list) and covers large,
widely traded companies; a name it does not know stays unresolved and the caller decides (a symbol
written as such is used as it is; anything else gets a clarifying question or a web search).
"""

from __future__ import annotations

import re

# Primary US listing (or ADR) of widely traded companies; several spellings per company.
_TABLE: dict[str, tuple[str, ...]] = {
    "AAPL": ("apple",), "MSFT": ("microsoft",), "GOOGL": ("alphabet", "google"), "AMZN": ("amazon",),
    "META": ("meta", "meta platforms", "facebook"), "NVDA": ("nvidia",), "TSLA": ("tesla",), "NFLX": ("netflix",),
    "INTC": ("intel",), "AMD": ("amd", "advanced micro devices"), "IBM": ("ibm",), "ORCL": ("oracle",),
    "KO": ("coca-cola", "coca cola", "coke"), "PEP": ("pepsi", "pepsico"), "DIS": ("disney", "walt disney"),
    "WMT": ("walmart",), "NKE": ("nike",), "BA": ("boeing",), "PFE": ("pfizer",), "V": ("visa",), "MA": ("mastercard",),
    "F": ("ford", "ford motor"), "GM": ("general motors", "gm"), "SBUX": ("starbucks",), "MCD": ("mcdonald's", "mcdonalds"),
    "PYPL": ("paypal",), "ADBE": ("adobe",), "CRM": ("salesforce",), "UBER": ("uber",), "LYFT": ("lyft",),
    "SPOT": ("spotify",), "SHOP": ("shopify",), "COST": ("costco",), "TM": ("toyota",), "SONY": ("sony",),
    "QCOM": ("qualcomm",), "CSCO": ("cisco",), "XOM": ("exxon", "exxonmobil", "exxon mobil"), "CVX": ("chevron",),
    "JPM": ("jpmorgan", "jp morgan", "jpmorgan chase"), "GS": ("goldman sachs", "goldman"), "ABNB": ("airbnb",),
    "ZM": ("zoom", "zoom video"), "SNOW": ("snowflake",), "PLTR": ("palantir",), "TGT": ("target",),
    "JCI": ("johnson controls",), "JNJ": ("johnson & johnson", "johnson and johnson"), "CAT": ("caterpillar",),
    "HD": ("home depot", "the home depot"), "VZ": ("verizon",), "T": ("at&t", "att"), "MRNA": ("moderna",),
    "AVGO": ("broadcom",), "BKNG": ("booking", "booking holdings"), "ETSY": ("etsy",), "EBAY": ("ebay",),
    "SQ": ("block", "square"), "RIVN": ("rivian",), "DAL": ("delta", "delta air lines", "delta airlines"),
    "BRK.B": ("berkshire hathaway", "berkshire"), "ASML": ("asml",), "TSM": ("tsmc", "taiwan semiconductor"),
    "BABA": ("alibaba",), "SAP": ("sap",), "NVO": ("novo nordisk",), "LLY": ("eli lilly", "lilly"),
    "UNH": ("unitedhealth", "united health"), "PG": ("procter & gamble", "procter and gamble", "p&g"),
    "MRK": ("merck",), "ABBV": ("abbvie",), "BAC": ("bank of america",), "WFC": ("wells fargo",), "C": ("citigroup", "citi"),
    "MS": ("morgan stanley",), "AXP": ("american express", "amex"), "HON": ("honeywell",), "GE": ("general electric", "ge"),
    "MMM": ("3m",), "LMT": ("lockheed martin", "lockheed"), "RTX": ("raytheon", "rtx"), "UPS": ("ups",), "FDX": ("fedex",),
    "LOW": ("lowe's", "lowes"), "CMCSA": ("comcast",), "TMUS": ("t-mobile", "t mobile"), "CHTR": ("charter",),
    "AMGN": ("amgen",), "GILD": ("gilead",), "BMY": ("bristol-myers", "bristol myers squibb"), "CVS": ("cvs",),
    "WBA": ("walgreens",), "KR": ("kroger",), "MDLZ": ("mondelez",), "KHC": ("kraft heinz", "kraft"), "GIS": ("general mills",),
    "HSY": ("hershey",), "CL": ("colgate", "colgate-palmolive"), "EL": ("estee lauder",), "LULU": ("lululemon",),
    "TJX": ("tj maxx", "tjx"), "ROST": ("ross stores",), "CMG": ("chipotle",), "YUM": ("yum brands", "kfc"),
    "DPZ": ("domino's", "dominos"), "MAR": ("marriott",), "HLT": ("hilton",), "CCL": ("carnival",),
    "RCL": ("royal caribbean",), "AAL": ("american airlines",), "UAL": ("united airlines",), "LUV": ("southwest", "southwest airlines"),
    "EA": ("electronic arts", "ea"), "TTWO": ("take-two", "take two"), "RBLX": ("roblox",), "U": ("unity",),
    "SNAP": ("snap", "snapchat"), "PINS": ("pinterest",), "RDDT": ("reddit",), "DASH": ("doordash",),
    "COIN": ("coinbase",), "HOOD": ("robinhood",), "SOFI": ("sofi",), "NOW": ("servicenow",), "INTU": ("intuit",),
    "WDAY": ("workday",), "TEAM": ("atlassian",), "DDOG": ("datadog",), "CRWD": ("crowdstrike",), "PANW": ("palo alto networks",),
    "NET": ("cloudflare",), "MDB": ("mongodb",), "OKTA": ("okta",), "TWLO": ("twilio",), "DOCU": ("docusign",),
    "MU": ("micron",), "TXN": ("texas instruments",), "AMAT": ("applied materials",), "LRCX": ("lam research",),
    "ARM": ("arm", "arm holdings"), "SMCI": ("supermicro", "super micro"), "DELL": ("dell",), "HPQ": ("hp", "hewlett-packard"),
    "NIO": ("nio",), "LCID": ("lucid", "lucid motors"), "STLA": ("stellantis",), "HMC": ("honda",), "RACE": ("ferrari",),
    "BP": ("bp",), "SHEL": ("shell",), "COP": ("conocophillips",), "NEE": ("nextera", "nextera energy"),
    "DE": ("john deere", "deere"), "NOC": ("northrop grumman", "northrop"), "GD": ("general dynamics",),
    "BLK": ("blackrock",), "SCHW": ("charles schwab", "schwab"), "SPGI": ("s&p global",), "MCO": ("moody's", "moodys"),
    "ADP": ("adp",), "PAYX": ("paychex",), "ACN": ("accenture",), "INFY": ("infosys",), "SHOP.TO": (),
    "NTDOY": ("nintendo",), "SSNLF": ("samsung",), "TCEHY": ("tencent",), "BIDU": ("baidu",), "JD": ("jd.com",),
    "PDD": ("pdd", "temu"), "MELI": ("mercadolibre", "mercado libre"), "SE": ("sea limited",), "GRAB": ("grab",),
    "UL": ("unilever",), "NSRGY": ("nestle", "nestlé"), "DEO": ("diageo",), "BUD": ("ab inbev", "anheuser-busch"),
    "AZN": ("astrazeneca",), "GSK": ("gsk", "glaxosmithkline"), "SNY": ("sanofi",), "NVS": ("novartis",), "RHHBY": ("roche",),
    "HSBC": ("hsbc",), "BCS": ("barclays",), "ING": ("ing",), "UBS": ("ubs",), "DB": ("deutsche bank",),
    "SIEGY": ("siemens",), "VWAGY": ("volkswagen", "vw"), "BMWYY": ("bmw",), "MBGYY": ("mercedes-benz", "mercedes"),
    "ADDYY": ("adidas",), "LVMUY": ("lvmh",), "PPRUY": ("kering",), "HESAY": ("hermes", "hermès"),
}
_BY_NAME: dict[str, str] = {name: ticker for ticker, names in _TABLE.items() for name in names}
_SUFFIX = re.compile(r"[\s,]+(?:inc\.?|corp\.?|corporation|co\.?|company|plc|ltd\.?|llc|group|holdings|ag|sa|n\.?v\.?)$",
                     re.IGNORECASE)


def known_tickers() -> set[str]:
    return set(_TABLE)


def normalize_company(name: str) -> str:
    """Lower case, without possessive, quotes, surrounding punctuation, "the", "stock"/"shares" or a legal suffix."""
    text = name.strip().strip(".,;:!?\"'“”‘’()").lower()
    text = re.sub(r"^(?:the|a|an)\s+", "", text)
    text = re.sub(r"(?:'s|’s|s')$", "", text)
    text = re.sub(r"\s+(?:stock|stocks|shares?|share price|price|ticker)$", "", text)
    previous = None
    while previous != text:
        previous, text = text, _SUFFIX.sub("", text).strip()
    return text


def ticker_for(name: str) -> str | None:
    """The ticker of a company named ``name`` ("Coca-Cola", "nvidia's", "Tesla Inc."), or None if unknown.

    A symbol written as one ("NVDA", "$tsla", "brk.b") that the table knows is returned as it is."""
    raw = name.strip().lstrip("$").strip(".,;:!?\"'“”‘’()")
    if raw.upper() in _TABLE:
        return raw.upper()
    return _BY_NAME.get(normalize_company(raw))


def looks_like_ticker(value: str) -> bool:
    """A symbol as exchanges write them: 1-5 capital letters, optionally ``.X`` (``BRK.B``)."""
    return bool(re.fullmatch(r"\$?[A-Z]{1,5}(?:\.[A-Z])?", value.strip()))


# Words as company names are written: "Apple's", "AT&T", "BRK.B", "$tsla", "Coca-Cola", and a lone "&".
_NAME_WORD = re.compile(r"\$?[A-Za-z0-9][\w.&'’-]*|&")
_LONGEST_NAME = max(len(name.split()) for name in _BY_NAME) + 1  # + a legal suffix ("Johnson & Johnson Inc")


def company_in(text: str, *, lower_case: bool = False) -> str | None:
    """The ticker of the longest known company name or listed symbol written inside ``text``, or None."""
    found = company_mention(text, lower_case=lower_case)
    return found[1] if found else None


def company_mention(text: str, *, lower_case: bool = False) -> tuple[str, str] | None:
    """(the words as written, ticker) of the longest known company name or listed symbol in ``text``.

    Why: a company span from the program may carry words around the name ("Apple's stock price",
    "shares of Tesla Inc", "MSFT stock"); the name inside it is what the table knows. Names count as
    people write them: capitalised, unless ``lower_case`` (used inside a span the program already chose
    as the company, where "apple's stock" is still a company; capitalised names still win). A symbol
    must be written as one (capitals or ``$``): lower-case "now", "low", "net" are words, not
    ServiceNow, Lowe's, Cloudflare. Ties go to the earlier mention."""
    words = [w.rstrip(".,;:!?") for w in _NAME_WORD.findall(text)]
    best: tuple[tuple[bool, int, int, int], str, str] | None = None
    for size in range(min(_LONGEST_NAME, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            ticker = _written_company(phrase, lower_case)
            if ticker is None:
                continue
            rank = (phrase.lstrip("$")[:1].isupper() or phrase.startswith("$"), size, len(phrase), -start)
            if best is None or rank > best[0]:
                best = (rank, phrase, ticker)
    return (best[1], best[2]) if best else None


def _written_company(phrase: str, lower_case: bool) -> str | None:
    """The ticker ``phrase`` names when it is written the way a company or symbol is written."""
    bare = phrase.lstrip("$")
    if not bare or not bare[0].isalnum():
        return None
    as_symbol = phrase.startswith("$") or (bare.isupper() and looks_like_ticker(bare))
    if as_symbol and bare.upper() in _TABLE:
        return bare.upper()
    name = normalize_company(bare)
    if name not in _BY_NAME:
        return None
    if not (bare[0].isupper() or lower_case):
        return None
    if len(name) <= 2 and not bare[:2].isupper():
        return None  # "ge", "hp", "ea" in lower case are not GE, HP, Electronic Arts
    return _BY_NAME[name]
