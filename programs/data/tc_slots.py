"""Slot values and phrasings of the TOOLCALL-15 training data (``gen_tc.py`` builds the rows from them).

Every list is split into disjoint train and held-out parts by :func:`split` (values) or kept as
explicit ``TRAIN``/``HELD`` pairs (phrasings written separately for each side), so the held-out rows
share no value and no sentence shape with the train rows. None of the benchmark's literal strings may
appear here (``gen_tc.BANNED`` is checked on every row written).
"""

from __future__ import annotations

import random

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



# ----------------------------------------------------------------------------- phrasings (issue #12)
# Written as separate TRAIN and HELD lists: the held-out side uses sentence shapes, wrappers and
# indirect asks that the train side never shows, so held-out accuracy is not template recall.

# Small talk around a request. "{r}" is the request, "{rl}" the request with a lower-case first letter.
WRAPPERS_TRAIN = [
    "Hey, {rl}", "Hi there! {r}", "Morning. {r}", "{r} Thanks!", "{r} Cheers.", "Quick favour: {rl}",
    "When you get a sec, {rl}", "ok so {rl}", "{r} No rush.", "Hope you're well! {r}", "So, {rl}",
    "Question for you: {rl}", "{r} That would help a lot.", "I was wondering, {rl}", "Sorry to bother you, {rl}",
    "{r} Thank you so much.", "hi! {rl}", "Long day here. {r}",
]
WRAPPERS_HELD = [
    "Hello! Hope your week's going ok. {r}", "{r} Appreciate it!", "Quick one — {rl}", "Yo, {rl}",
    "Random thing, but {rl}", "{r} ty", "Before I forget: {rl}", "If you can, {rl}", "{r} Many thanks in advance.",
    "Good afternoon. {r}", "Hey, it's me again. {r}", "{r} You're a lifesaver.",
]

WEATHER_TRAIN = [
    "Do I need sunglasses in {c} right now?", "Is it nice out in {c}?", "What's it doing outside in {c}?",
    "is {c} freezing today?", "Gonna be hot in {c} today?", "About to go for a run in {c}, how's it looking outside?",
    "Can you tell me if it's raining in {c}?", "What are conditions like in {c} at the moment?",
    "Should I wear a coat in {c} today?", "how's the sky looking over {c}?",
]
WEATHER_HELD = [
    "Heading out in {c} soon, what's it like out there?", "Is {c} cold right now?",
    "Would I need a jacket if I were in {c} right now?", "Any chance it's sunny in {c} today?",
    "How's {c} looking weather-wise?", "Curious about the weather in {c}.", "What should I expect outside in {c} today?",
    "Is it warm enough for shorts in {c}?",
]
STOCK_TRAIN = [
    "How are {x} shares doing?", "What's {x} going for today?", "Is {x} up or down today?", "Where is {x} trading?",
    "I want to know how {x} stock is doing.", "Quick check on {x}'s share price?", "What's the market saying about {x} today?",
    "How much is one {x} share worth?",
]
STOCK_HELD = [
    "Any idea what {x} is worth per share right now?", "How's {x} doing on the market?", "Could you check {x}'s price?",
    "what's {x} at today", "I'm curious how {x} stock is performing.", "Can you see where {x} shares are sitting?",
]
WEB_TRAIN = [
    "Any news on the {q}?", "What's the latest about the {q}?", "Can you find out the {q} for me?",
    "I'd like to know the {q}.", "Could you check online for the {q}?", "Search around for the {q}.",
]
WEB_HELD = [
    "Do you know the {q}? Search it please.", "Dig up info on the {q} online.", "Can you look into the {q}?",
    "What does the internet say about the {q}?",
]
CONTACTS_TRAIN = ["Do I have {p}'s number?", "What's the email for {p}?", "Pull up {p}'s details.", "Find {p}'s email for me."]
CONTACTS_HELD = ["Can you find {p} in my address book?", "How do I reach {p}?", "Got contact info for {p}?"]
EMAIL_TRAIN = [
    "Ping {p} that {m}.", "Give {p} a shout that {m}.", "Can you drop {p} a line saying {m}?", "Message {p}: {m}.",
    "Could you let {p} know that {m}?", "Please tell {p} {m}.", "Send a note to {p} that {m}.",
]
EMAIL_HELD = [
    "Loop in {p}: {m}.", "Make sure {p} knows {m}.", "Send a quick note to {p} — {m}.", "Can you get word to {p} that {m}?",
    "Fill {p} in that {m}.",
]
FILES_TRAIN = ["Can you dig up the {d}?", "Where did I save the {d}?", "Grab the {d} from my files.", "Look through my documents for the {d}."]
FILES_HELD = ["I can't find the {d} anywhere, can you?", "Pull the {d} out of my drive.", "Is the {d} somewhere in my files?", "Fetch me the {d}."]
FILE_READ_TRAIN = ["What's in the {d}?", "Open up the {d} and tell me the {f}.", "Can you check the {d} for the {f}?"]
FILE_READ_HELD = ["I need the {f} from the {d}, what does it say?", "Have a look at the {d} and give me the {f}."]
FILE_EMAIL_TRAIN = ["Dig out the {d} and send the {f} over to {p}.", "Could you grab the {f} from the {d} and email {p}?"]
FILE_EMAIL_HELD = ["{p} needs the {f} from the {d}, can you send it?", "Pull up the {d} and pass the {f} on to {p}."]
CALENDAR_TRAIN = [
    "Pencil in a {e} {w} at {t}{n}.", "Block {w} at {t} for a {e}{n}.", "Can you get a {e} on the calendar {w} at {t}{n}?",
    "I'd like a {e} {w} at {t}{d}{n}.",
]
CALENDAR_HELD = [
    "Let's do a {e} {w} at {t}{n}, add it please.", "Throw a {e} on my calendar {w} at {t}{d}{n}.",
    "Make time for a {e} {w} at {t}{n}.",
]
REMINDER_TRAIN = [
    "Nudge me {w} at {t} to {x}.", "Make sure I {x} {w} at {t}.", "Ping me at {t} {w} to {x}.",
    "I always forget to {x}, remind me {w} at {t}.",
]
REMINDER_HELD = [
    "Give me a heads-up {w} at {t} to {x}.", "I'll need a reminder {w} at {t}: {x}.",
    "Can you make sure I remember to {x} {w} at {t}?", "Poke me at {t} {w} to {x}.",
]
TRANSLATE_TRAIN = ["What's {q}{x}{q} in {g}?", "How would I say {q}{x}{q} in {g}?", "Could you turn {q}{x}{q} into {g}?"]
TRANSLATE_HELD = ["What's the {g} for {q}{x}{q}?", "Help me say {q}{x}{q} in {g}.", "{q}{x}{q}, how is that said in {g}?"]

# Requests that carry a tool word but need no tool (idioms, explanations, knowledge): label "answer".
IDIOMS_TRAIN = [
    "I'm feeling under the weather, any advice?", "Let's take a rain check on lunch, no worries.",
    "What does 'taking stock' mean?", "Can you explain what a stock split is?", "Remind me what the capital of Peru is?",
    "What's the difference between a file and a folder?", "What causes rain?", "How do calendars handle leap years?",
    "How do you calculate compound interest?", "Tell me about the history of email.", "Why is the sky blue?",
    "What's a good way to remember people's names?", "Is it true lightning never strikes the same place twice?",
    "What does 'steal someone's thunder' mean?", "How do I write a polite email?", "What's the weather like on Mars, in general?",
    "Any tips for staying warm in winter?", "Why do people say 'right as rain'?", "What is a search engine?",
    "How does a thermometer work?", "What does 'under the radar' mean?", "Explain what a contact lens is.",
]
IDIOMS_HELD = [
    "Weather permitting we'll hike Saturday, any trail snacks to recommend?", "What's a stock photo?",
    "My inbox is a mess. Any tips for inbox zero?", "Remind me, what's the speed of sound roughly?",
    "What does 'file under miscellaneous' mean?", "How are snowflakes formed?", "What's a fiscal year?",
    "Who invented email?", "Why do share prices go up and down?", "Feeling a bit foggy this morning, how do I wake up?",
    "How do translators learn new languages?",
]
# Unsupported actions asked indirectly: label "refuse".
REFUSALS_HELD_EXTRA = [
    "Could you go ahead and cancel the {event}?", "I'd love it if you could book a table for two tonight.",
    "Mind ordering some flowers for my mom?", "Can you wipe the old drafts from my inbox?",
    "Please call an Uber to the office.", "Could you pay the {company} invoice for me?",
]
REFUSALS_TRAIN_EXTRA = [
    "Can you get me a taxi to the airport?", "Would you mind deleting the {doc}?", "Please buy me a coffee.",
    "Could you cancel my subscription to the newsletter?", "I need you to reserve a hotel room in {city}.",
    "Go ahead and remove {name} from the group chat.", "Send flowers to {name} for me.",
]


# ----------------------------------------------------------------------------- tc-condition phrasings

# Weather words: (kind, result conditions that are that kind). Conditions are split per kind, train / held-out.
WEATHER_KINDS = {
    "rain": ["Light rain", "Heavy rain", "Drizzle", "Rain showers", "Rain", "Thunderstorm with rain", "Scattered showers",
             "Moderate rain", "Freezing rain", "Patchy light drizzle", "Torrential rain", "Showers"],
    "snow": ["Snow", "Light snow", "Heavy snow", "Snow showers", "Blizzard", "Flurries", "Sleet and snow", "Snow grains"],
    "sun": ["Sunny", "Clear", "Clear skies", "Mostly sunny", "Bright sunshine", "Fair", "Cloudless", "Sunny intervals"],
    "cloud": ["Cloudy", "Overcast", "Partly cloudy", "Mostly cloudy", "Grey skies", "Broken clouds", "Dull and grey"],
    "wind": ["Windy", "Strong winds", "Gusty winds", "Breezy", "Gale", "Blustery"],
    "fog": ["Fog", "Mist", "Foggy", "Haze", "Freezing fog", "Low visibility, fog"],
    "storm": ["Thunderstorm", "Storm", "Severe thunderstorms", "Tropical storm", "Thunder and lightning", "Hail storm"],
}
# A condition can be more than one kind ("Thunderstorm with rain" is rain and storm).
_KIND_WORDS = {"rain": ["rain", "drizzle", "shower"], "snow": ["snow", "blizzard", "flurr", "sleet"], "sun": ["sun", "clear", "fair", "cloudless"],
               "cloud": ["cloud", "overcast", "grey"], "wind": ["wind", "gust", "breez", "gale", "blustery"],
               "fog": ["fog", "mist", "haze", "visibility"], "storm": ["storm", "thunder", "lightning"]}
CLAUSES_TRAIN = {
    "rain": ["if it's raining", "if it rains", "if there's rain", "in case of rain", "when it's rainy", "if it is wet"],
    "snow": ["if it is snowing", "in case it snows", "if there is snow", "if it's snowy"],
    "sun": ["if it's sunny", "if the sun is out", "if it's clear", "if it's a sunny day"],
    "cloud": ["if it's cloudy", "if it's overcast"],
    "wind": ["if it's windy", "if there's strong wind"],
    "fog": ["if it's foggy", "if there's fog"],
    "storm": ["if there's a storm", "if it's stormy"],
}
CLAUSES_HELD = {
    "rain": ["should it be raining", "if it's pouring", "if we get rain", "if it's drizzly out"],
    "snow": ["should it snow", "if there's snowfall"],
    "sun": ["if the sky is clear", "if it's bright out", "if there's sunshine"],
    "cloud": ["if the sky is grey", "if it's clouded over"],
    "wind": ["if it is gusty", "if it's blowing hard"],
    "fog": ["if visibility is poor because of fog", "if it's misty"],
    "storm": ["if a thunderstorm is coming", "if there's thunder"],
}
# Temperature words, decided from the number: (clause, holds when t <= hi, fails when t >= lo) or the reverse for "hot".
TEMP_TRAIN = [("if it's cold", "low", 8, 16), ("if it's hot", "high", 28, 20), ("if it's freezing", "low", 0, 6),
              ("if it's warm", "high", 20, 12), ("if it is below zero", "low", -1, 3)]
TEMP_HELD = [("if it's chilly", "low", 9, 17), ("if it's boiling out", "high", 30, 21), ("if it's nice and warm", "high", 21, 11),
             ("if it's icy cold", "low", -2, 7)]
# Train-only variety for tc-condition (gen_tc.extra_condition_rows): none of these words or phrasings
# is in a held-out list above (pouring, drizzly, snowfall, sky, bright, sunshine, grey, clouded, gusty,
# blowing, visibility, misty, thunder, chilly, boiling, icy, green, fell, gained are held-out only).
CLAUSES_TRAIN_EXTRA = {
    "rain": ["if it's rainy", "if it's wet outside", "in case it rains", "if there are showers", "if rain is falling"],
    "snow": ["if it snows", "when it's snowing", "if there's snow on the ground", "in case of snow"],
    "sun": ["if it's a nice sunny day", "if the sun is shining", "if it's fine and sunny", "when it's clear out"],
    "cloud": ["if it's cloudy out", "if there are clouds", "if it's an overcast day", "if it's dull out"],
    "wind": ["if it's very windy", "if there are strong winds", "in case of high wind", "if it's breezy"],
    "fog": ["if there's mist", "if it's hazy", "in case of fog", "if fog rolls in"],
    "storm": ["if there's a big storm", "if it's storming", "in case of storms", "if there's lightning"],
}
WEATHER_TRAIN_EXTRA = {
    "rain": ["Rainy", "Steady rain", "Downpour", "Wet"],
    "snow": ["Snowing", "Wet snow", "Moderate snow", "Powdery snow"],
    "sun": ["Mostly clear", "Sunny spells", "Hot and sunny"],
    "cloud": ["Clouds", "Cloud cover", "Gloomy", "Heavy cloud"],
    "wind": ["High winds", "Wind", "Very windy", "Squally"],
    "fog": ["Dense fog", "Hazy", "Smog", "Fog patches"],
    "storm": ["Storms", "Lightning", "Stormy", "Electrical storm"],
}
TEMP_TRAIN_EXTRA = [("if it's frosty", "low", 0, 6), ("if it's scorching", "high", 30, 21), ("if it's cold out", "low", 8, 16),
                    ("if it's warm out", "high", 20, 12), ("if temperatures are below freezing", "low", -1, 4)]
STOCK_CLAUSES_TRAIN_EXTRA = [("if it rose today", "up"), ("if the price is down", "down"), ("if it climbed", "up"),
                             ("if the stock lost value", "down"), ("if it's lower today", "down")]
STOCK_CLAUSES_TRAIN = [("if it's up today", "up"), ("if it went down today", "down"), ("if the stock is rising", "up"), ("if it dropped", "down")]
STOCK_CLAUSES_HELD = [("if it's in the green", "up"), ("if shares fell", "down"), ("if it gained today", "up")]


# ----------------------------------------------------------------------------- dates and times as people write them

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


def noisy(req, r: random.Random):  # noqa: ANN001 - a gen_tc.Req
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


def wrapped(req, r: random.Random, held: bool):  # noqa: ANN001 - a gen_tc.Req
    """Small talk around a third of the requests ("Hey, ...", "... Thanks!"); field spans stay intact."""
    if r.random() > 0.33:
        return req
    wrapper = r.choice(WRAPPERS_HELD if held else WRAPPERS_TRAIN)
    first = req.text.split(" ")[0]
    protected = " ".join(req.fields.values())
    lower = req.text if first in protected or first.isupper() else req.text[:1].lower() + req.text[1:]
    req.text = wrapper.format(r=req.text, rl=lower)
    return req
