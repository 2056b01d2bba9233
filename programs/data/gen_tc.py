"""Generate the train and held-out sets of the TOOLCALL-15 pipeline's programs (``programs/tc-*.yaml``).

    python programs/data/gen_tc.py        # rewrites programs/data/tc-*.{train,heldout}.jsonl

One seeded script builds every data set from the same request builders, so a request's label, its
next-tool sequence and its argument values can never disagree:

* ``tc-next-tool``   "Request: ...\\nDone: ..." -> answer | refuse (first turn only), the next tool to call, or done
* ``tc-arg``         "Tool: T\\nField: F\\nRequest: ..." -> the field's value (a span of the request)
* ``tc-condition``   "Condition: ...\\nResult: ..." -> yes | no

Train and held-out are kept strictly apart: every slot list (cities, people, companies, documents,
languages, trivia, actions...) and every template list is split into disjoint train and held-out
parts, so held-out accuracy measures generalisation to unseen phrasings *and* unseen values.

None of the benchmark's own literal strings (its cities, tickers, companies, people, documents,
phrases) may appear in any row: :data:`BANNED` is checked on everything written, and the script
fails if one slips in.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260320

# Strings of the ToolCall-15 scenarios that must never appear in training or held-out data.
BANNED = [
    "berlin", "tokyo", "paris", "london", "aapl", "msft", "apple", "microsoft", "sarah", "alex", "jamie",
    "jordan", "johnson", "iceland", "q3 budget", "budget report", "hospital", "umbrella", "standup",
    "stand-up", "world war", "1945", "manager", "proposal", "spanish", "japanese", "15% of 200",
]


# ----------------------------------------------------------------------------- slot values


def split(values: list, held_every: int = 4) -> tuple[list, list]:
    """Deterministic disjoint split: every ``held_every``-th value is held out."""
    train = [v for i, v in enumerate(values) if i % held_every != held_every - 1]
    held = [v for i, v in enumerate(values) if i % held_every == held_every - 1]
    return train, held


CITIES = [
    "Lisbon", "Madrid", "Rome", "Oslo", "Vienna", "Prague", "Dublin", "Chicago", "Toronto", "Sydney", "Cairo",
    "Nairobi", "Lima", "Denver", "Seattle", "Mumbai", "Seoul", "Bangkok", "Hanoi", "Munich", "Zurich", "Warsaw",
    "Athens", "Helsinki", "Stockholm", "Boston", "Austin", "Miami", "Vancouver", "Montreal", "Buenos Aires",
    "Cape Town", "Osaka", "Istanbul", "Dubai", "Singapore", "Manila", "Jakarta", "Auckland", "Edinburgh",
    "Marseille", "Lyon", "Hamburg", "Barcelona", "Seville", "Porto", "Krakow", "Budapest", "Bucharest", "Sofia",
    "Tallinn", "Riga", "Copenhagen", "Brussels", "Amsterdam", "Geneva", "Milan", "Naples", "Florence",
    "San Francisco", "Los Angeles", "New York", "Mexico City", "Bogota", "Santiago", "Havana", "Accra", "Lagos",
    "Casablanca", "Beirut", "Karachi", "Delhi", "Kolkata", "Dhaka", "Kathmandu", "Taipei", "Shanghai",
    "Beijing", "Hong Kong", "Perth", "Melbourne", "Brisbane", "Wellington", "Anchorage", "Honolulu", "Phoenix",
    "Atlanta", "Dallas", "Houston", "Portland", "Calgary", "Quebec City", "Kyiv", "Minsk", "Tbilisi", "Baku",
    "Doha", "Riyadh", "Muscat", "Colombo", "Chennai", "Bangalore", "Kuala Lumpur", "Ho Chi Minh City",
    "Sao Paulo", "Rio de Janeiro", "Montevideo", "Quito", "La Paz", "Caracas", "Panama City", "San Jose",
    "Addis Ababa", "Dakar", "Kampala", "Lusaka", "Harare", "Tunis", "Algiers", "Valencia", "Bilbao", "Nice",
    "Salzburg", "Bruges", "Antwerp", "Gothenburg", "Bergen", "Turku", "Gdansk", "Ljubljana", "Zagreb",
]
FIRST_NAMES = [
    "Maria", "Omar", "Priya", "Liam", "Chen", "Fatima", "Noah", "Emma", "Lucas", "Aisha", "Mateo", "Yuki",
    "Ravi", "Hannah", "Diego", "Olga", "Kwame", "Sofia", "Ben", "Nina", "Tom", "Grace", "Ivan", "Leila",
    "Marco", "Zoe", "Samir", "Chloe", "Pedro", "Anna", "Felix", "Mia", "Hugo", "Elena", "Raj", "Tara",
    "Victor", "Ines", "Dev", "Lena", "Carlos", "Julia", "Kenji", "Amara", "Paul", "Rosa", "Ethan", "Nadia",
    "Oscar", "Irene", "Dana", "Kim", "Luis", "Mei", "Arjun", "Sven", "Ingrid", "Tariq", "Beatriz", "Finn",
    "Hiro", "Layla", "Nico", "Aaron", "Keisha", "Boris", "Clara", "Malik", "Yara", "Rohan", "Eva", "Joel",
    "Lucia", "Sanjay", "Greta", "Musa", "Petra", "Andre", "Wendy", "Faisal", "Ruth", "Simon", "Vera", "Kofi",
]
SURNAMES = [
    "Patel", "Garcia", "Nguyen", "Smith", "Okafor", "Rossi", "Kowalski", "Tanaka", "Silva", "Muller", "Haddad",
    "Lee", "Brown", "Ivanova", "Costa", "Fischer", "Mensah", "Dubois", "Larsen", "Khan", "Moreau", "Schmidt",
    "Novak", "Reyes", "Walsh", "Becker", "Horvat", "Lindqvist", "Adeyemi", "Ortiz", "Sato", "Kim", "Wright",
]
ROLES = [
    "boss", "supervisor", "team lead", "accountant", "landlord", "director", "HR team", "dentist", "lawyer",
    "project lead", "finance team", "sales team", "assistant", "CFO", "coach", "recruiter", "design team",
    "tutor", "editor", "advisor", "team", "mentor", "client", "doctor", "office admin", "tech lead",
    "marketing team", "product owner", "payroll team", "mom", "dad", "sister", "brother", "roommate",
]
# (company as people write it, ticker)
COMPANIES = [
    ("Tesla", "TSLA"), ("Amazon", "AMZN"), ("Alphabet", "GOOGL"), ("Meta", "META"), ("Nvidia", "NVDA"),
    ("Netflix", "NFLX"), ("Intel", "INTC"), ("AMD", "AMD"), ("IBM", "IBM"), ("Oracle", "ORCL"),
    ("Coca-Cola", "KO"), ("Disney", "DIS"), ("Walmart", "WMT"), ("Nike", "NKE"), ("Boeing", "BA"),
    ("Pfizer", "PFE"), ("Visa", "V"), ("Ford", "F"), ("Starbucks", "SBUX"), ("McDonald's", "MCD"),
    ("PayPal", "PYPL"), ("Adobe", "ADBE"), ("Salesforce", "CRM"), ("Uber", "UBER"), ("Spotify", "SPOT"),
    ("Shopify", "SHOP"), ("Costco", "COST"), ("Toyota", "TM"), ("Sony", "SONY"), ("Qualcomm", "QCOM"),
    ("Cisco", "CSCO"), ("Exxon", "XOM"), ("Chevron", "CVX"), ("JPMorgan", "JPM"), ("Goldman Sachs", "GS"),
    ("Airbnb", "ABNB"), ("Zoom", "ZM"), ("Snowflake", "SNOW"), ("Palantir", "PLTR"), ("Target", "TGT"),
    ("Pepsi", "PEP"), ("Johnson Controls", "JCI"), ("Caterpillar", "CAT"), ("Home Depot", "HD"),
    ("Verizon", "VZ"), ("AT&T", "T"), ("Moderna", "MRNA"), ("Broadcom", "AVGO"), ("Booking", "BKNG"),
    ("Lyft", "LYFT"), ("Etsy", "ETSY"), ("eBay", "EBAY"), ("Block", "SQ"), ("Rivian", "RIVN"),
    ("General Motors", "GM"), ("Delta", "DAL"), ("Mastercard", "MA"), ("Berkshire Hathaway", "BRK.B"),
]
COMPANIES = [c for c in COMPANIES if "johnson" not in c[0].lower()]
DOCS = [
    "Q2 sales forecast", "2024 tax return", "onboarding checklist", "vendor contract", "marketing plan",
    "annual review", "travel itinerary", "Patel invoice", "Garcia lease agreement", "hiring plan",
    "product roadmap", "board minutes", "Q4 revenue summary", "expense report", "Lee quote", "client brief",
    "insurance policy", "Nguyen contract", "Q1 payroll sheet", "project timeline", "research notes",
    "Okafor offer letter", "safety audit", "pricing sheet", "Rossi invoice", "team handbook",
    "sprint retrospective", "Q2 marketing spend", "Smith project plan", "warehouse inventory", "design spec",
    "Kowalski statement", "conference agenda", "Q4 headcount plan", "grant application", "security review",
    "rental agreement", "Tanaka quote", "customer survey results", "Q1 hiring forecast", "audit findings",
]
# (what is asked for in the file, the line a file would hold) for search->read->email chains
FILE_FACTS = [
    "total", "grand total", "final amount", "deadline", "main conclusion", "summary", "key numbers",
    "net profit", "headcount", "due date", "total cost", "balance", "launch date", "renewal date",
]
LANGUAGES = [
    "French", "German", "Italian", "Portuguese", "Dutch", "Korean", "Chinese", "Russian", "Arabic", "Hindi",
    "Turkish", "Polish", "Swedish", "Greek", "Vietnamese", "Thai", "Indonesian", "Czech", "Danish", "Finnish",
    "Norwegian", "Hebrew", "Romanian", "Hungarian", "Ukrainian", "Swahili", "Catalan", "Tagalog",
]
PHRASES = [
    "Where is the train station?", "How much does this cost?", "I would like a table for two.",
    "Can you help me, please?", "The meeting starts at noon.", "Thank you for your patience.",
    "Where can I buy a ticket?", "I am allergic to peanuts.", "Is breakfast included?", "Happy birthday!",
    "Please call a taxi.", "What time does the museum open?", "I lost my passport.", "Good morning, everyone.",
    "The package arrived yesterday.", "See you next week.", "Where is the nearest pharmacy?",
    "I need a doctor.", "Do you accept credit cards?", "The flight is delayed.", "Welcome to our home.",
    "How do I get to the airport?", "Could you speak more slowly?", "We are closed on Sundays.",
    "Congratulations on your new job!", "My phone battery is dead.", "Is this seat taken?",
    "The water is not safe to drink.", "Please keep the door closed.", "I will be late today.",
]
EVENTS = [
    "design review", "team sync", "1:1 with my lead", "project kickoff", "budget meeting", "dentist appointment",
    "lunch with the interns", "sprint planning", "client call", "yoga class", "code review", "board meeting",
    "coffee chat", "quarterly review", "training session", "demo rehearsal", "all-hands", "retrospective",
    "interview debrief", "planning session", "product demo", "parent-teacher meeting", "book club",
    "weekly check-in", "marketing sync", "onboarding session", "hiring committee", "vendor call",
]
REMINDERS = [
    "call the dentist", "take out the trash", "water the plants", "pay the electricity bill", "buy milk",
    "submit the timesheet", "pick up the dry cleaning", "renew my passport", "call mom", "feed the cat",
    "book the flight", "send the invoice", "charge my laptop", "take my medicine", "walk the dog",
    "check the oven", "back up my phone", "return the library books", "pack my gym bag", "pick up the kids",
    "bring sunscreen", "wear a warm coat", "bring my raincoat", "cover the patio furniture", "bring gloves",
    "close the windows", "take the bus instead of cycling", "move the car into the garage", "bring boots",
]
MESSAGES = [
    "the call is pushed to Thursday", "the report is ready for review", "I'm running 10 minutes late",
    "the launch slipped to next week", "lunch is on me today", "the server is back up",
    "the workshop starts at 2pm", "dinner is at 7 tonight", "the contract was signed",
    "the office is closed on Monday", "the demo went well", "the deadline moved to Friday",
    "the invoice has been paid", "I'll be working from home tomorrow", "the flight lands at 6pm",
    "the review is postponed to 4pm", "the keys are at the front desk", "the party moved to Saturday",
    "the budget was approved", "the room changed to 4B", "the train is delayed by an hour",
    "the kickoff is cancelled", "the new schedule is online", "we need the slides by noon",
]
SEARCH_TOPICS = [
    "population of Peru", "height of Mount Kilimanjaro", "latest news about the Mars rover",
    "current price of gold", "who won the last Tour de France", "release date of the next Zelda game",
    "opening hours of the Louvre", "best rated sushi places in Osaka", "GDP of Vietnam",
    "number of employees at Nvidia", "distance from Earth to Mars today", "current exchange rate of euro to yen",
    "area of Greenland", "population of Norway", "length of the Danube river", "current inflation rate in Brazil",
    "tallest building completed this year", "price of a bitcoin right now", "population of Chile",
    "attendance at the last Super Bowl", "depth of Lake Baikal", "population of Finland",
    "average salary of a nurse in Canada", "elevation of Denver", "number of moons of Saturn discovered so far",
    "population of New Zealand", "current interest rate of the Federal Reserve", "height of the Burj Khalifa",
    "annual rainfall in Seattle", "box office total of the newest Pixar movie", "population of Portugal",
]
# (question, short answer) general knowledge a model can answer without tools
TRIVIA = [
    ("What is the capital of Canada?", "Ottawa"), ("Who wrote Hamlet?", "William Shakespeare"),
    ("How many legs does a spider have?", "8"), ("What is the chemical symbol for gold?", "Au"),
    ("What year did the Titanic sink?", "1912"), ("Who painted the Mona Lisa?", "Leonardo da Vinci"),
    ("What is the largest planet in our solar system?", "Jupiter"), ("How many continents are there?", "7"),
    ("What is the boiling point of water in Celsius?", "100"), ("Who discovered penicillin?", "Alexander Fleming"),
    ("What year did humans first land on the Moon?", "1969"), ("What is the capital of Australia?", "Canberra"),
    ("How many days are in a leap year?", "366"), ("What gas do plants absorb?", "carbon dioxide"),
    ("Who was the first president of the United States?", "George Washington"),
    ("What is the longest river in Africa?", "the Nile"), ("What is the freezing point of water in Fahrenheit?", "32"),
    ("In what year did the French Revolution begin?", "1789"), ("What is the square root of 81?", "9"),
    ("How many sides does a hexagon have?", "6"), ("What is the capital of Egypt?", "Cairo"),
    ("Who developed the theory of relativity?", "Albert Einstein"), ("What is H2O?", "water"),
    ("How many minutes are in an hour?", "60"), ("What language is spoken in Brazil?", "Portuguese"),
    ("Which planet is known as the Red Planet?", "Mars"), ("What year did the Soviet Union launch Sputnik?", "1957"),
    ("Who wrote Pride and Prejudice?", "Jane Austen"), ("What is the smallest prime number?", "2"),
    ("What is the capital of Kenya?", "Nairobi"), ("How many strings does a standard guitar have?", "6"),
    ("What is the hardest natural substance?", "diamond"), ("Who invented the telephone?", "Alexander Graham Bell"),
    ("What is the currency of the United Kingdom?", "the pound sterling"), ("How many bones are in the adult human body?", "206"),
    ("In which year did the American Declaration of Independence get signed?", "1776"),
    ("What is the capital of Italy?", "Rome"), ("What is the main ingredient of guacamole?", "avocado"),
    ("Who composed the Fifth Symphony?", "Ludwig van Beethoven"), ("What is the largest ocean?", "the Pacific Ocean"),
    ("What year did the Soviet Union dissolve?", "1991"), ("How many players are on a soccer team on the field?", "11"),
    ("What is the speed of light in km per second, roughly?", "about 300,000"), ("Which element has the symbol O?", "oxygen"),
    ("What is the tallest mountain on Earth?", "Mount Everest"), ("Who wrote The Odyssey?", "Homer"),
    ("When did the first World Cup of football take place?", "1930"), ("What is the capital of Spain?", "Madrid"),
    ("What do bees make?", "honey"), ("How many hours are in a week?", "168"),
    ("What year did the Roman Empire in the west fall?", "476"), ("Who was Napoleon?", "a French emperor"),
    ("What is the capital of Japan's neighbour South Korea?", "Seoul"), ("What is photosynthesis?", "how plants make food from light"),
    ("Which animal is the largest mammal?", "the blue whale"), ("What is the opposite of hot?", "cold"),
    ("What year was the printing press invented by Gutenberg, roughly?", "around 1440"),
    ("What does CPU stand for?", "central processing unit"), ("How many weeks are in a year?", "52"),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong"), ("What is the capital of Germany's neighbour Austria?", "Vienna"),
    ("What year did the Great Fire of Chicago happen?", "1871"), ("How many colors are in a rainbow?", "7"),
]
TRIVIA_WRAPS = ["{q}", "{q}", "Quick question: {q}", "Do you know {ql}", "{q} Just curious.", "hey, {ql}", "Tell me: {ql}", "{q} thanks"]
CHAT = [
    "Thanks, that's all!", "hello there", "Good morning!", "What can you help me with?", "Tell me a joke.",
    "How do I boil an egg?", "Explain what a black hole is in one sentence.", "What's a good name for a puppy?",
    "Give me a synonym for happy.", "How do you spell necessary?", "Can you recommend a classic novel?",
    "What's the difference between weather and climate?", "Write a haiku about autumn.", "ok thanks",
    "How many centimeters are in an inch?", "How many ounces are in a pound?", "Is a tomato a fruit?",
    "What should I pack for a beach trip?", "Summarize the plot of Romeo and Juliet in one line.",
    "Define the word ephemeral.", "What does RSVP mean?", "Who are you?", "nice, thank you",
]
# Arithmetic a model (or a one-line Python eval) answers directly: (question, expression)
def _math(r: random.Random) -> tuple[str, str]:
    a, b = r.randint(2, 99), r.randint(2, 400)
    p = r.choice([5, 10, 12, 20, 25, 30, 40, 50, 75, 8, 15, 35, 60])
    if p == 15 and b == 200:
        b = 300
    forms = [
        (f"What is {p}% of {b}?", f"{b} * {p} / 100"), (f"what's {p} percent of {b}", f"{b} * {p} / 100"),
        (f"How much is {p}% of {b}?", f"{b} * {p} / 100"), (f"Calculate {p}% of {b}.", f"{b} * {p} / 100"),
        (f"What is {a} times {b}?", f"{a} * {b}"), (f"what's {a} plus {b}", f"{a} + {b}"),
        (f"What is {b} minus {a}?", f"{b} - {a}"), (f"What is {b * a} divided by {a}?", f"{b * a} / {a}"),
        (f"What's half of {b * 2}?", f"{b * 2} / 2"), (f"What is {a} squared?", f"{a} * {a}"),
        (f"How much is {a} + {b}?", f"{a} + {b}"), (f"{a} x {b} = ?", f"{a} * {b}"),
        (f"what is {a}*{b}", f"{a} * {b}"), (f"If I have {b} apples and eat {a}, how many are left?", f"{b} - {a}"),
        (f"What is a quarter of {b * 4}?", f"{b * 4} / 4"), (f"what's double {b}", f"{b} * 2"),
        (f"What is {p} percent of {b * 10}?", f"{b * 10} * {p} / 100"), (f"Whats {a}% of {b}", f"{b} * {a} / 100"),
        (f"What's {a} times {p} plus {b}?", f"{a} * {p} + {b}"), (f"What is the sum of {a} and {b}?", f"{a} + {b}"),
    ]
    return r.choice(forms)


REFUSALS = [
    "Delete all my {thing} from {period}.", "Cancel my {slot} meeting.", "Remove every {thing} older than a year.",
    "Book me a flight to {city} next week.", "Order a large pizza to my office.", "Transfer $500 to {name}'s account.",
    "Call {name} on the phone right now.", "Post a tweet saying we launched.", "Turn off the lights in the living room.",
    "Play some jazz music.", "Unsubscribe me from all newsletters.", "Archive all {thing} from {name}.",
    "Reserve a table for four at an Italian restaurant tonight.", "Delete the file named {doc}.",
    "Cancel my gym membership.", "Empty my trash folder.", "Mark all my {thing} as read.",
    "Wipe my calendar for {period}.", "Forward all {thing} from {name} to my personal account.",
    "Block {name} from emailing me.", "Delete {name} from my contacts.", "Rename the {doc} file.",
    "Buy 10 shares of {company} for me.", "Sell all my {company} stock.", "Uninstall the VPN app from my laptop.",
    "Print the {doc}.", "Change my account password.", "Delete my reminder about {reminder}.",
    "Cancel the {event} on my calendar.", "Move all {thing} from {name} into a folder.",
    "Pay my electricity bill online.", "Book a hotel in {city} for two nights.", "Send a text message to {name}.",
    "Purge every {thing} I received {period}.", "Get rid of all the spam {thing} from {period}.",
    "Erase my search history.", "Update {name}'s phone number in my contacts.", "Start the dishwasher.",
    "Reschedule the {event} to next month.", "Restore the {doc} I deleted yesterday.",
]
REFUSE_THINGS = ["emails", "messages", "mails", "files", "calendar events", "reminders", "notes", "photos", "inbox messages", "drafts"]
PERIODS = ["last month", "last week", "yesterday", "2023", "this year", "the past month", "last quarter", "March", "before June"]


# ----------------------------------------------------------------------------- dates and helpers

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _when(r: random.Random) -> str:
    day = r.choice(DAYS)
    return r.choice([
        f"next {day}", f"on {day}", "tomorrow", f"this {day}", "the day after tomorrow", f"on {r.choice(['March', 'April', 'May', 'June'])} {r.randint(1, 28)}",
        f"in {r.randint(2, 9)} days", "next week", f"{day}", "today", f"on the {r.randint(1, 28)}th",
    ])


def _time(r: random.Random) -> str:
    h = r.randint(1, 12)
    m = r.choice([0, 0, 15, 30, 45, 0, 10])
    ampm = r.choice(["am", "pm", " am", " pm", "AM", "PM", "a.m.", "p.m."])
    return r.choice([f"{h}{ampm}" if m == 0 else f"{h}:{m:02d}{ampm}", f"{h}:{m:02d}{ampm}", f"{r.randint(7, 20)}:{m:02d}", "noon", f"{h} o'clock"])


def _duration(r: random.Random) -> str:
    return r.choice(["30 minutes", "45 minutes", "an hour", "1 hour", "90 minutes", "2 hours", "15 minutes", "half an hour", "20 min", "1.5 hours"])


@dataclass
class Req:
    text: str
    kind: str  # answer | tool | refuse
    plan: list[str] = field(default_factory=list)
    fields: dict[tuple[str, str], str] = field(default_factory=dict)
    found: dict[tuple[str, str], str] = field(default_factory=dict)  # extra "Found:" context per field


@dataclass
class Pool:
    cities: list[str]
    names: list[str]
    roles: list[str]
    companies: list[tuple[str, str]]
    docs: list[str]
    facts: list[str]
    languages: list[str]
    phrases: list[str]
    events: list[str]
    reminders: list[str]
    messages: list[str]
    topics: list[str]
    trivia: list[tuple[str, str]]
    chat: list[str]
    refusals: list[str]
    held: bool


def _pick_person(r: random.Random, p: Pool) -> tuple[str, str]:
    """(how the request names the person, the contacts query)."""
    if r.random() < 0.65:
        name = r.choice(p.names)
        if r.random() < 0.2:
            full = f"{name} {r.choice(SURNAMES)}"
            return full, full
        return name, name
    role = r.choice(p.roles)
    return f"my {role}" if r.random() < 0.8 else f"the {role}", role


# ----------------------------------------------------------------------------- request builders
# Each builder: (random, pool) -> Req. Template lists are split into train / held-out halves per
# builder via the pool's ``held`` flag: ``_t(r, p, train_templates, held_templates)``.


def _t(r: random.Random, p: Pool, templates: list[str]) -> str:
    train, held = split(templates, 3)
    return r.choice(held if p.held else train)


def b_weather(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    units = r.choice([None, None, None, "fahrenheit", "celsius", "°F", "°C", "Fahrenheit"])
    t = _t(r, p, [
        "What's the weather like in {c} right now?", "How's the weather in {c}?", "Is it cold in {c} today?",
        "weather in {c} please", "What is the current temperature in {c}?", "Check the weather for {c}.",
        "Do I need a jacket in {c} today?", "Tell me the forecast for {c} right now.", "whats the weather in {c}",
        "Current conditions in {c}?", "How hot is it in {c} at the moment?", "Give me the weather report for {c}.",
        "Is it raining in {c} now?", "What's it like outside in {c}?", "Could you look up the weather in {c}?",
        "Any idea what the temperature is in {c}?", "I'm flying to {c} tonight, what's the weather there?",
        "Temperature in {c}?",
    ])
    text = t.format(c=city)
    if units:
        text = text.rstrip("?.!") + r.choice([f" in {units}?", f", in {units} please.", f" ({units})", f" in {units}."])
    return Req(text, "tool", ["get_weather"], {("get_weather", "location"): city})


def b_stock(r: random.Random, p: Pool) -> Req:
    company, ticker = r.choice(p.companies)
    ref = ticker if r.random() < 0.5 else company
    t = _t(r, p, [
        "What is the current price of {x} stock?", "How much is {x} trading at?", "{x} share price?",
        "What's {x}'s stock price today?", "Check the stock price of {x}.", "Get me a quote for {x}.",
        "how is {x} stock doing right now", "What's the latest price for {x} shares?",
        "Look up the {x} stock price.", "price of {x} please", "What does one share of {x} cost right now?",
        "Where is {x} stock trading today?",
    ])
    text = t.format(x=ref)
    if "'s" in t and ref == ticker:
        text = text.replace(f"{ticker}'s", ticker)
    return Req(text, "tool", ["get_stock_price"], {("get_stock_price", "ticker"): ticker})


def b_web(r: random.Random, p: Pool) -> Req:
    topic = r.choice(p.topics)
    t = _t(r, p, [
        "Search the web for {q}.", "Look up {q} online.", "Can you find the {q}?", "Google the {q} for me.",
        "I need to know the {q}.", "Search for {q}.", "Find out the {q}.", "What's the {q}? Please search.",
        "look up the {q}", "Do a web search on {q}.",
    ])
    return Req(t.format(q=topic), "tool", ["web_search"], {("web_search", "query"): topic})


def b_current_events(r: random.Random, p: Pool) -> Req:
    company, _ = r.choice(p.companies)
    city = r.choice(p.cities)
    q = r.choice([
        f"Who is the current CEO of {company}?", f"What's the latest news about {company}?",
        f"What are the top headlines in {city} today?", f"Who won yesterday's match in {city}?",
        f"What concerts are happening in {city} this weekend?", f"Is {company} hiring right now?",
        f"What movies are showing in {city} tonight?", f"What happened in the news today?",
    ])
    return Req(q, "tool", ["web_search"], {("web_search", "query"): q.rstrip("?.")})


def b_contacts(r: random.Random, p: Pool) -> Req:
    said, query = _pick_person(r, p)
    t = _t(r, p, [
        "What's {p}'s email address?", "Look up {p} in my contacts.", "Find the contact details for {p}.",
        "Do I have an email for {p}?", "Get me {p}'s phone number.", "who is {p}? check my contacts",
    ])
    text = t.format(p=said).replace("my my ", "my ")
    return Req(text, "tool", ["get_contacts"], {("get_contacts", "query"): query})


def b_email_name(r: random.Random, p: Pool) -> Req:
    said, query = _pick_person(r, p)
    msg = r.choice(p.messages)
    t = _t(r, p, [
        "I need to let {p} know {m}.", "Tell {p} that {m}.", "Email {p} that {m}.", "Let {p} know {m}.",
        "Send {p} an email saying {m}.", "Can you inform {p} that {m}?", "Shoot {p} a note that {m}.",
        "Please notify {p} that {m}.", "Drop {p} a message: {m}.", "Give {p} a heads up that {m}.",
        "Write to {p} and say {m}.", "Could you email {p}? {m}.",
    ])
    text = t.format(p=said, m=msg)
    text = text[0].upper() + text[1:]
    return Req(text, "tool", ["get_contacts", "send_email"],
               {("get_contacts", "query"): query, ("send_email", "body"): msg})


def b_email_addr(r: random.Random, p: Pool) -> Req:
    name = r.choice(p.names)
    addr = f"{name.lower()}.{r.choice(SURNAMES).lower()}@{r.choice(['example.com', 'acme.io', 'mail.org', 'corp.net'])}"
    msg = r.choice(p.messages)
    t = _t(r, p, [
        "Email {a} that {m}.", "Send an email to {a} saying {m}.", "Write to {a}: {m}.",
        "Please email {a} to say {m}.", "Let {a} know {m}.", "Send {a} a quick note that {m}.",
    ])
    return Req(t.format(a=addr, m=msg), "tool", ["send_email"], {("send_email", "body"): msg})


def b_files(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    suffix = r.choice(["", "", " document", " file", " pdf", " spreadsheet", " doc"])
    t = _t(r, p, [
        "Find the {d}{s}.", "Where is the {d}{s}?", "Can you locate the {d}{s}?", "Search my files for the {d}{s}.",
        "I'm looking for the {d}{s}.", "Pull up the {d}{s}.", "find {d}{s}", "Look for the {d}{s} in my files.",
        "Do I have a file called {d}?", "Search for the {d}{s} in my documents.",
    ])
    return Req(t.format(d=doc, s=suffix), "tool", ["search_files"], {("search_files", "query"): doc})


def b_file_read(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    t = _t(r, p, [
        "Find the {d} and tell me what it says.", "Open the {d} and summarize it.", "What does the {d} say?",
        "Read me the {d}.", "Locate the {d} and read it to me.", "Look up the {d} and tell me the {f}.",
        "What's the {f} in the {d}?", "Search for the {d} and show me its contents.",
    ])
    return Req(t.format(d=doc, f=r.choice(p.facts)), "tool", ["search_files", "read_file"], {("search_files", "query"): doc})


def b_file_email(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    fact = r.choice(p.facts)
    said, query = _pick_person(r, p)
    t = _t(r, p, [
        "Find the {d} and email the {f} to {p}.", "Look up the {d} and send the {f} to {p}.",
        "Get the {f} from the {d} and email it to {p}.", "Search for the {d}, then mail the {f} to {p}.",
        "Pull the {f} out of the {d} and send it to {p}.", "Find the {d} and let {p} know the {f}.",
        "Read the {d} and forward the {f} to {p} by email.", "Find the {d} and email {p} the {f}.",
        "Can you find the {d} and send {p} the {f}?",
    ])
    text = t.format(d=doc, f=fact, p=said)
    if "@" in said:
        plan = ["search_files", "read_file", "send_email"]
    else:
        plan = ["search_files", "read_file", "get_contacts", "send_email"]
    return Req(text, "tool", plan, {("search_files", "query"): doc, ("get_contacts", "query"): query, ("send_email", "body"): f"the {fact}"})


def b_calendar(r: random.Random, p: Pool) -> Req:
    event = r.choice(p.events)
    when, at = _when(r), _time(r)
    names = r.sample(p.names, r.choice([0, 1, 2, 2, 3]))
    with_part = ""
    if names:
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        with_part = r.choice([f" with {joined}", f", invite {joined}", f" with {joined}"])
    dur = f", {_duration(r)}" if r.random() < 0.5 else ""
    t = _t(r, p, [
        "Schedule a {e} for {w} at {t}{d}{n}.", "Put a {e} on my calendar {w} at {t}{n}{d}.",
        "Set up a {e} {w} at {t}{d}{n}.", "Book a {e} {w} at {t}{n}.", "Create an event: {e}, {w} at {t}{d}{n}.",
        "Add a {e} to my calendar for {w} at {t}{n}{d}.", "Can you schedule the {e} {w} at {t}{d}{n}?",
        "Plan a {e} at {t} {w}{n}{d}.", "I need a {e} {w} at {t}{d}{n}, please add it.",
    ])
    text = t.format(e=event, w=when, t=at, d=dur, n=with_part)
    fields = {("create_calendar_event", "title"): event,
              ("create_calendar_event", "attendees"): ", ".join(names) if names else "none"}
    return Req(text, "tool", ["create_calendar_event"], fields)


def b_reminder(r: random.Random, p: Pool) -> Req:
    what = r.choice(p.reminders)
    when, at = _when(r), _time(r)
    t = _t(r, p, [
        "Remind me to {x} {w} at {t}.", "Set a reminder to {x} {w} at {t}.", "Remind me at {t} {w} to {x}.",
        "Can you remind me {w} at {t} to {x}?", "Don't let me forget to {x} {w} at {t}.",
        "Set a reminder for {t} {w}: {x}.", "I need a reminder to {x} at {t} {w}.", "remind me {w} {t} to {x}",
    ])
    return Req(t.format(x=what, w=when, t=at), "tool", ["set_reminder"], {("set_reminder", "message"): what})


def b_translate(r: random.Random, p: Pool) -> Req:
    phrase = r.choice(p.phrases)
    src = "English"
    targets = r.sample([l for l in p.languages], r.choice([1, 1, 2]))
    tgt = targets[0] if len(targets) == 1 else r.choice([f"both {targets[0]} and {targets[1]}", f"{targets[0]} and {targets[1]}"])
    q = r.choice(["'", '"', "'", ""])
    t = _t(r, p, [
        "Translate {q}{x}{q} from {s} to {g}.", "How do you say {q}{x}{q} in {g}?", "Translate {q}{x}{q} into {g}.",
        "Can you translate {q}{x}{q} from {s} into {g}?", "What is {q}{x}{q} in {g}?", "Put {q}{x}{q} into {g} for me.",
        "I need {q}{x}{q} translated to {g}.", "translate {q}{x}{q} to {g} please",
    ])
    text = t.format(q=q, x=phrase, s=src, g=tgt)
    return Req(text, "tool", ["translate_text"], {("translate_text", "text"): phrase})


def b_calc(r: random.Random, p: Pool) -> Req:
    a = round(r.uniform(1000, 99999), r.choice([0, 2]))
    b = round(r.uniform(3, 999), r.choice([0, 1, 3]))
    a_s = f"{a:g}" if a != int(a) else str(int(a))
    b_s = f"{b:g}" if b != int(b) else str(int(b))
    op, sym = r.choice([("times", "*"), ("multiplied by", "*"), ("divided by", "/"), ("plus", "+"), ("minus", "-")])
    t = _t(r, p, [
        "Use the calculator to compute {a} {o} {b}.", "Calculate {a} {o} {b} precisely.", "Compute {a} {o} {b} with the calculator.",
        "What is {a} {o} {b}, to the decimal? Use the calculator.", "Please run {a} {o} {b} through the calculator.",
        "Work out {a} {o} {b} exactly using the calculator tool.",
    ])
    return Req(t.format(a=a_s, o=op, b=b_s), "tool", ["calculator"], {("calculator", "expression"): f"{a_s} {sym} {b_s}"})


def b_code(r: random.Random, p: Pool) -> Req:
    x = r.randint(3, 40)
    lang = r.choice(["Python", "JavaScript", "python", "JS"])
    t = _t(r, p, [
        "Run this {l} code: print(sum(range({x})))", "Execute `print({x} ** 3)` in {l}.",
        "Can you run a {l} snippet that prints the first {x} squares?", "Run console.log({x} * 7) in {l}.",
        "Execute this {l}: for i in range({x}): print(i)",
    ])
    return Req(t.format(l=lang, x=x), "tool", ["run_code"])


# -- composites


def b_weather_stock(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    company, ticker = r.choice(p.companies)
    ref = ticker if r.random() < 0.6 else company
    t = _t(r, p, [
        "What's the weather in {c} and the stock price of {x}?", "Check the stock price of {x} and the weather in {c}.",
        "Give me the weather for {c} and a quote for {x}.", "How's the weather in {c}, and how is {x} trading?",
        "I need two things: the weather in {c} and the price of {x}.", "weather in {c} + {x} share price",
        "Tell me the {x} stock price and the current temperature in {c}.", "What is {x} trading at, and is it raining in {c}?",
    ])
    text = t.format(c=city, x=ref)
    stock_first = text.find(ref) < text.find(city)
    plan = ["get_stock_price", "get_weather"] if stock_first else ["get_weather", "get_stock_price"]
    return Req(text, "tool", plan, {("get_weather", "location"): city, ("get_stock_price", "ticker"): ticker})


def b_weather_web(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    topic = r.choice(p.topics)
    t = _t(r, p, [
        "What's the weather in {c}, and also search the web for the {q}?", "Look up the {q} and tell me the weather in {c}.",
        "Check the weather in {c} and search for the {q}.",
    ])
    text = t.format(c=city, q=topic)
    plan = ["get_weather", "web_search"] if text.find(city) < text.find(topic) else ["web_search", "get_weather"]
    return Req(text, "tool", plan, {("get_weather", "location"): city, ("web_search", "query"): topic})


def b_stock_stock(r: random.Random, p: Pool) -> Req:
    (c1, t1), (c2, t2) = r.sample(p.companies, 2)
    text = _t(r, p, ["Compare the stock prices of {a} and {b}.", "What are {a} and {b} trading at?", "Get quotes for {a} and {b}."]).format(a=t1, b=t2)
    return Req(text, "tool", ["get_stock_price"], {("get_stock_price", "ticker"): t1})


def _cond_clause(r: random.Random, held: bool) -> tuple[str, str]:
    """(a weather condition clause, the thing it is about)."""
    train = [("if it's raining", "rain"), ("if it rains", "rain"), ("if it is snowing", "snow"), ("if it's sunny", "sun"),
             ("if there's rain", "rain"), ("if it's cloudy", "cloud"), ("in case it snows", "snow"), ("if it's windy", "wind")]
    held_c = [("should it be raining", "rain"), ("if there is snow", "snow"), ("if the sun is out", "sun"), ("if it's wet out", "rain"), ("if there's a storm", "storm")]
    return r.choice(held_c if held else train)


def b_weather_reminder(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    cond, _ = _cond_clause(r, p.held)
    what = r.choice(p.reminders)
    when, at = r.choice(["tomorrow", "tomorrow", _when(r)]), _time(r)
    t = _t(r, p, [
        "Check the weather in {c}. {C}, remind me to {x} {w} at {t}.", "Look at the weather for {c} and {cond}, set a reminder to {x} {w} at {t}.",
        "What's the weather in {c}? {C}, remind me {w} at {t} to {x}.", "Check {c}'s weather; {cond}, remind me to {x} at {t} {w}.",
        "Get the weather in {c}, and {cond} remind me to {x} {w} at {t}.", "Check the forecast in {c} - {cond} I want a reminder to {x} {w} at {t}.",
    ])
    text = t.format(c=city, C=cond[0].upper() + cond[1:], cond=cond, x=what, w=when, t=at)
    return Req(text, "tool", ["get_weather", "set_reminder"], {("get_weather", "location"): city, ("set_reminder", "message"): what})


def b_weather_email(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    said, query = _pick_person(r, p)
    cond, _ = _cond_clause(r, p.held)
    msg = r.choice(["the picnic is off", "we should meet indoors", "the hike is cancelled", "practice moves to the gym", "bring a coat"])
    text = _t(r, p, [
        "Check the weather in {c}; {cond}, tell {p} that {m}.", "Look up the weather in {c} and {cond}, email {p} that {m}.",
        "See what the weather is in {c}. {C}, let {p} know {m}.",
    ]).format(c=city, cond=cond, C=cond[0].upper() + cond[1:], p=said, m=msg)
    return Req(text, "tool", ["get_weather", "get_contacts", "send_email"],
               {("get_weather", "location"): city, ("get_contacts", "query"): query, ("send_email", "body"): msg})


def b_search_calc(r: random.Random, p: Pool) -> Req:
    subjects = [("population of", ["Peru", "Norway", "Chile", "Finland", "Portugal", "Kenya", "Ghana", "Uruguay", "Nepal", "Latvia", "Malta", "Cyprus", "Estonia", "Bhutan", "Jamaica", "Fiji", "Panama", "Qatar", "Oman", "Slovenia"]),
                ("height of", ["Mount Kilimanjaro", "the Eiffel Tower", "the Burj Khalifa", "Mount Fuji", "K2", "the Shard", "Denali"]),
                ("area of", ["Greenland", "Texas", "Madagascar", "Borneo", "Lake Victoria"]),
                ("number of employees at", [c for c, _ in p.companies[:8]]),
                ("length of", ["the Danube", "the Amazon river", "the Great Wall", "the Rhine"])]
    kind, options = r.choice(subjects)
    train_o, held_o = split(options, 3)
    obj = r.choice(held_o if p.held and held_o else train_o)
    value = r.choice([r.randint(50_000, 9_000_000), r.randint(1000, 99_999), r.randint(300, 9000)])
    pct = r.choice([1, 2, 3, 5, 10, 12, 15, 20, 25, 40, 0.5])
    pct_s = f"{pct:g}"
    ops = [
        (f"calculate what {pct_s}% of it would be", f"{value} * {pct_s} / 100"), (f"work out {pct_s}% of that", f"{value} * {pct_s} / 100"),
        (f"compute {pct_s} percent of it", f"{value} * {pct_s} / 100"), ("divide it by 4", f"{value} / 4"),
        ("double it", f"{value} * 2"), ("tell me what half of it is", f"{value} / 2"), ("multiply it by 3", f"{value} * 3"),
        (f"figure out what {pct_s}% of that number is", f"{value} * {pct_s} / 100"),
    ]
    op, expr = r.choice(ops)
    topic = f"{kind} {obj}"
    text = _t(r, p, [
        "Search for the {q} and {o}.", "Look up the {q}, then {o}.", "Find the {q} online and {o}.",
        "Search the web for the {q} and {o}.", "What's the {q}? Search for it and {o}.", "Google the {q} and {o}.",
    ]).format(q=topic, o=op)
    return Req(text, "tool", ["web_search", "calculator"], {("web_search", "query"): topic, ("calculator", "expression"): expr},
               found={("calculator", "expression"): f"{value:,}" if r.random() < 0.5 else str(value)})


def b_stock_calc(r: random.Random, p: Pool) -> Req:
    company, ticker = r.choice(p.companies)
    n = r.randint(3, 250)
    price = round(r.uniform(5, 900), 2)
    text = _t(r, p, [
        "Get the price of {x} and calculate what {n} shares would cost.", "Check {x}'s stock price and work out the value of {n} shares.",
        "How much would {n} shares of {x} cost at the current price? Look it up and calculate.",
    ]).format(x=ticker, n=n)
    return Req(text, "tool", ["get_stock_price", "calculator"], {("get_stock_price", "ticker"): ticker, ("calculator", "expression"): f"{price} * {n}"},
               found={("calculator", "expression"): str(price)})


def b_translate_email(r: random.Random, p: Pool) -> Req:
    phrase = r.choice(p.phrases)
    lang = r.choice(p.languages)
    said, query = _pick_person(r, p)
    text = _t(r, p, [
        "Translate '{x}' into {l} and email it to {p}.", "Translate '{x}' to {l}, then send it to {p}.",
        "Send {p} the {l} translation of '{x}'.",
    ]).format(x=phrase, l=lang, p=said)
    return Req(text, "tool", ["translate_text", "get_contacts", "send_email"],
               {("translate_text", "text"): phrase, ("get_contacts", "query"): query})


def b_contacts_calendar(r: random.Random, p: Pool) -> Req:
    name = r.choice(p.names)
    event = r.choice(p.events)
    text = _t(r, p, [
        "Look up {n}'s email and schedule a {e} with them {w} at {t}.", "Find {n} in my contacts and book a {e} with them {w} at {t}.",
        "Get {n}'s contact details, then put a {e} with them on my calendar {w} at {t}.",
    ]).format(n=name, e=event, w=_when(r), t=_time(r))
    return Req(text, "tool", ["get_contacts", "create_calendar_event"],
               {("get_contacts", "query"): name, ("create_calendar_event", "title"): event})


def b_answer(r: random.Random, p: Pool) -> Req:
    roll = r.random()
    if roll < 0.5:
        q, _ = r.choice(p.trivia)
        wrap = r.choice(TRIVIA_WRAPS)
        text = wrap.format(q=q, ql=q[0].lower() + q[1:])
        return Req(text, "answer")
    if roll < 0.8:
        q, expr = _math(r)
        return Req(q, "answer", fields={("calculator", "expression"): expr})
    return Req(r.choice(p.chat), "answer")


def b_refuse(r: random.Random, p: Pool) -> Req:
    company, _ = r.choice(p.companies)
    t = r.choice(p.refusals)
    text = t.format(thing=r.choice(REFUSE_THINGS), period=r.choice(PERIODS), slot=r.choice(["3pm", "Monday", "morning", "next"]),
                    city=r.choice(p.cities), name=r.choice(p.names), doc=r.choice(p.docs), company=company,
                    reminder=r.choice(p.reminders), event=r.choice(p.events))
    if r.random() < 0.2:
        text = text.lower().rstrip(".")
    return Req(text, "refuse")


TOOL_BUILDERS: list[tuple[Callable[[random.Random, Pool], Req], float]] = [
    (b_weather, 6), (b_stock, 5), (b_web, 4), (b_current_events, 2), (b_contacts, 2), (b_email_name, 5),
    (b_email_addr, 2), (b_files, 4), (b_file_read, 2), (b_file_email, 4), (b_calendar, 7), (b_reminder, 4),
    (b_translate, 6), (b_calc, 2), (b_code, 1), (b_weather_stock, 4), (b_weather_web, 1), (b_stock_stock, 1),
    (b_weather_reminder, 4), (b_weather_email, 2), (b_search_calc, 4), (b_stock_calc, 1), (b_translate_email, 1),
    (b_contacts_calendar, 1),
]


# ----------------------------------------------------------------------------- noise


def _typo(word: str, r: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = r.randint(1, len(word) - 2)
    op = r.choice(["swap", "drop", "double"])
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == "drop":
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def noisy(req: Req, r: random.Random) -> Req:
    """A typo in one word that no field value contains (values must stay spans of the request)."""
    if r.random() > 0.18:
        return req
    protected = " ".join(v for v in req.fields.values()).lower()
    words = req.text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w.lower() not in protected]
    if not candidates:
        return req
    i = r.choice(candidates)
    words[i] = _typo(words[i], r)
    req.text = " ".join(words)
    return req


# ----------------------------------------------------------------------------- data sets


def _pool(held: bool) -> Pool:
    def pick(values: list, every: int = 4) -> list:
        train, hold = split(values, every)
        return hold if held else train

    return Pool(
        cities=pick(CITIES), names=pick(FIRST_NAMES), roles=pick(ROLES, 3), companies=pick(COMPANIES, 3),
        docs=pick(DOCS, 3), facts=pick(FILE_FACTS, 3), languages=pick(LANGUAGES, 3), phrases=pick(PHRASES, 3),
        events=pick(EVENTS, 3), reminders=pick(REMINDERS, 3), messages=pick(MESSAGES, 3), topics=pick(SEARCH_TOPICS, 3),
        trivia=pick(TRIVIA, 3), chat=pick(CHAT, 3), refusals=pick(REFUSALS, 3), held=held,
    )


def _requests(r: random.Random, pool: Pool, n_tool: int, n_answer: int, n_refuse: int) -> list[Req]:
    builders, weights = zip(*TOOL_BUILDERS)
    out = [noisy(r.choices(builders, weights)[0](r, pool), r) for _ in range(n_tool)]
    out += [noisy(b_answer(r, pool), r) for _ in range(n_answer)]
    out += [b_refuse(r, pool) for _ in range(n_refuse)]
    r.shuffle(out)
    return out


def done_text(done: list[str]) -> str:
    return ", ".join(done) if done else "none"


def next_tool_input(request: str, done: list[str]) -> str:
    return f"Request: {request}\nDone: {done_text(done)}"


def arg_input(tool: str, fld: str, request: str, found: str | None = None) -> str:
    text = f"Tool: {tool}\nField: {fld}\nRequest: {request}"
    return text + (f"\nFound: {found}" if found else "")


def condition_rows(r: random.Random, held: bool, n: int) -> list[dict]:
    kinds = {
        "rain": ["Light rain", "Heavy rain", "Drizzle", "Rain showers", "Rain", "Thunderstorm with rain", "Scattered showers", "Moderate rain"],
        "snow": ["Snow", "Light snow", "Heavy snow", "Snow showers", "Blizzard", "Flurries"],
        "sun": ["Sunny", "Clear", "Clear skies", "Mostly sunny", "Bright sunshine"],
        "cloud": ["Cloudy", "Overcast", "Partly cloudy", "Mostly cloudy", "Grey skies"],
        "wind": ["Windy", "Strong winds", "Gusty winds", "Breezy"],
        "fog": ["Fog", "Mist", "Foggy", "Haze"],
        "storm": ["Thunderstorm", "Storm", "Severe thunderstorms", "Tropical storm"],
    }
    clauses = {
        "rain": ["if it's raining", "if it rains", "if there's rain", "in case of rain", "should it be raining", "if it's wet out", "if rain is expected", "when it's rainy"],
        "snow": ["if it is snowing", "in case it snows", "if there is snow", "if it's snowy", "should it snow"],
        "sun": ["if it's sunny", "if the sun is out", "if it's clear", "if the sky is clear", "if it's a sunny day"],
        "cloud": ["if it's cloudy", "if it's overcast", "if the sky is grey"],
        "wind": ["if it's windy", "if there's strong wind", "if it is gusty"],
        "fog": ["if it's foggy", "if there's fog", "if visibility is poor because of fog"],
        "storm": ["if there's a storm", "if it's stormy", "if a thunderstorm is coming"],
    }
    also = {"storm": {"rain"}}  # a thunderstorm with rain counts as rain too: handled by the condition text below
    rows = []
    for _ in range(n):
        want = r.choice(list(clauses))
        tr_c, he_c = split(clauses[want], 3)
        clause = r.choice(he_c if held and he_c else tr_c)
        negate = r.random() < 0.15
        if negate:
            clause = clause.replace("if it's", "if it's not").replace("if it is", "if it is not").replace("if there's", "if there's no").replace("if there is", "if there is no")
            if " not" not in clause and " no " not in clause:
                negate = False
        match = r.random() < 0.5
        pool_kind = want if match else r.choice([k for k in kinds if k != want])
        tr_k, he_k = split(kinds[pool_kind], 3)
        cond = r.choice(he_k if held and he_k else tr_k)
        lower = cond.lower()
        holds = want in {"rain": "rain drizzle shower".split(), "snow": "snow blizzard flurr".split(), "sun": "sun clear".split(),
                         "cloud": "cloud overcast grey".split(), "wind": "wind gust breez".split(), "fog": "fog mist haze".split(),
                         "storm": "storm".split()} and any(k in lower for k in {"rain": ["rain", "drizzle", "shower"], "snow": ["snow", "blizzard", "flurr"],
                         "sun": ["sun", "clear"], "cloud": ["cloud", "overcast", "grey"], "wind": ["wind", "gust", "breez"], "fog": ["fog", "mist", "haze"],
                         "storm": ["storm"]}[want])
        if negate:
            holds = not holds
        temp = r.randint(-8, 34)
        result = r.choice([
            f"condition: {cond}, temperature: {temp}", f"{cond}, {temp} degrees", f"location: {r.choice(CITIES)}, temperature: {temp}, condition: {cond}, humidity: {r.randint(30, 99)}",
            f"{cond}", f"temperature {temp} C, {cond.lower()}",
        ])
        rows.append({"input": f"Condition: {clause}\nResult: {result}", "output": "yes" if holds else "no"})
    return rows


def build(held: bool, seed: int, n_tool: int, n_answer: int, n_refuse: int) -> dict[str, list[dict]]:
    r = random.Random(seed)
    pool = _pool(held)
    reqs = _requests(r, pool, n_tool, n_answer, n_refuse)
    nxt, arg = [], []
    for req in reqs:
        if req.kind != "tool":
            nxt.append({"input": next_tool_input(req.text, []), "output": req.kind})
        if req.kind == "tool":
            for i in range(len(req.plan) + 1):
                label = req.plan[i] if i < len(req.plan) else "done"
                if label == "done" and len(req.plan) == 1 and r.random() < 0.5:
                    continue  # single-tool requests would otherwise make "done" a third of the rows
                nxt.append({"input": next_tool_input(req.text, req.plan[:i]), "output": label})
        for (tool, fld), value in req.fields.items():
            if req.kind == "answer" and tool == "calculator":
                arg.append({"input": arg_input(tool, fld, req.text), "output": value})
                continue
            if req.kind != "tool" or tool not in req.plan:
                continue
            arg.append({"input": arg_input(tool, fld, req.text, req.found.get((tool, fld))), "output": value})
    cond = condition_rows(r, held, 160 if not held else 60)
    return {"tc-next-tool": nxt, "tc-arg": arg, "tc-condition": cond}


def _dedupe(rows: list[dict], exclude: set[str] | None = None) -> list[dict]:
    seen = set(exclude or ())
    out = []
    for row in rows:
        if row["input"] in seen:
            continue
        seen.add(row["input"])
        out.append(row)
    return out


def _check_banned(name: str, rows: list[dict]) -> None:
    for row in rows:
        blob = (row["input"] + " " + json.dumps(row["output"])).lower()
        for word in BANNED:
            if re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", blob):
                raise SystemExit(f"{name}: banned benchmark string {word!r} in {row['input']!r}")


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


SIZES = {  # (train cap, held-out cap)
    "tc-next-tool": (900, 240), "tc-arg": (640, 160), "tc-condition": (160, 60),
}


def main() -> None:
    train = build(False, SEED, n_tool=420, n_answer=150, n_refuse=110)
    held = build(True, SEED + 1, n_tool=130, n_answer=50, n_refuse=40)
    for name in train:
        tr = _dedupe(train[name])
        he = _dedupe(held[name], exclude={row["input"] for row in tr})
        r = random.Random(SEED)
        r.shuffle(tr)
        tr, he = tr[: SIZES[name][0]], he[: SIZES[name][1]]
        _check_banned(name, tr + he)
        _write(HERE / f"{name}.train.jsonl", tr)
        _write(HERE / f"{name}.heldout.jsonl", he)
        counts: dict[str, int] = {}
        for row in tr:
            key = row["output"] if name != "tc-arg" else row["input"].split("\n")[0] + "/" + row["input"].split("\n")[1]
            counts[key] = counts.get(key, 0) + 1
        print(f"{name}: train {len(tr)}, held-out {len(he)}  {dict(sorted(counts.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()
