"""Training rows for ``tc-answer``: general-knowledge questions → one short sentence that names the answer.

Why a fit at all: the prompt-only program copied names out of its own examples ("The answer is
Ernest Hemingway" for Hamlet) and rambled; a LoRA fitted on a few hundred question → short-answer
rows teaches the *format* (one sentence that starts with the subject of the question and ends
with the answer: a name-first format taught "Romeo and Juliet wrote Romeo and Juliet"), while the facts
stay the base's. So the rows below are deliberately other facts than the 60 of
``tc-answer.facts.jsonl`` (the measuring set): no question subject and no answer of that file
occurs here, nor any knowledge question of the hand-written natural set (``tc-natural/``, a test
set: its questions and answers are kept out too; ``tests/integrations/toolcall15/test_tc_answer_data.py``
checks both), and no ToolCall-15 literal (``gen_tc.BANNED``). Greetings, thanks and small talk get a short friendly reply, because the
pipeline sends those turns to ``tc-answer`` too.

Hand-written facts, a few phrasings per kind; seeded so that the file is reproducible::

    python programs/data/gen_tc_answer.py      # writes programs/data/tc-answer.train.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "tc-answer.train.jsonl"
SEED = 20261201

CAPITALS = [
    ("Canada", "Ottawa"), ("India", "New Delhi"), ("Argentina", "Buenos Aires"),
    ("Peru", "Lima"), ("Chile", "Santiago"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Poland", "Warsaw"), ("Austria", "Vienna"),
    ("Hungary", "Budapest"), ("the Czech Republic", "Prague"), ("Ireland", "Dublin"),
    ("the Netherlands", "Amsterdam"), ("Belgium", "Brussels"), ("Switzerland", "Bern"), ("Turkey", "Ankara"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("South Korea", "Seoul"), ("Indonesia", "Jakarta"),
    ("the Philippines", "Manila"), ("Nigeria", "Abuja"), ("Ethiopia", "Addis Ababa"), ("Morocco", "Rabat"),
    ("Cuba", "Havana"), ("Colombia", "Bogotá"), ("Venezuela", "Caracas"), ("Iran", "Tehran"),
    ("Iraq", "Baghdad"), ("Saudi Arabia", "Riyadh"), ("Pakistan", "Islamabad"), ("New Zealand", "Wellington"),
    ("Ukraine", "Kyiv"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"), ("Serbia", "Belgrade"),
    ("Croatia", "Zagreb"), ("Lebanon", "Beirut"), ("Syria", "Damascus"), ("Afghanistan", "Kabul"),
    ("Nepal", "Kathmandu"), ("Bangladesh", "Dhaka"), ("Malaysia", "Kuala Lumpur"), ("Ghana", "Accra"),
    ("Senegal", "Dakar"), ("Uganda", "Kampala"), ("Zimbabwe", "Harare"), ("Scotland", "Edinburgh"),
    ("Wales", "Cardiff"), ("Qatar", "Doha"), ("Mongolia", "Ulaanbaatar"), ("Ecuador", "Quito"),
]
CAPITAL_Q = ["What is the capital of {c}?", "What's the capital city of {c}?", "Which city is the capital of {c}?",
             "capital of {c}?", "Do you know the capital of {c}?"]
CAPITAL_A = "The capital of {c} is {a}."

WORKS = [  # (work, verb, creator)
    ("1984", "wrote", "George Orwell"), ("Animal Farm", "wrote", "George Orwell"),
    ("Moby-Dick", "wrote", "Herman Melville"), ("War and Peace", "wrote", "Leo Tolstoy"),
    ("Anna Karenina", "wrote", "Leo Tolstoy"), ("Don Quixote", "wrote", "Miguel de Cervantes"),
    ("The Divine Comedy", "wrote", "Dante Alighieri"), ("Oliver Twist", "wrote", "Charles Dickens"),
    ("A Christmas Carol", "wrote", "Charles Dickens"), ("Frankenstein", "wrote", "Mary Shelley"),
    ("Dracula", "wrote", "Bram Stoker"), ("The Great Gatsby", "wrote", "F. Scott Fitzgerald"),
    ("To Kill a Mockingbird", "wrote", "Harper Lee"), ("Crime and Punishment", "wrote", "Fyodor Dostoevsky"),
    ("Les Misérables", "wrote", "Victor Hugo"), ("The Adventures of Tom Sawyer", "wrote", "Mark Twain"),
    ("Alice's Adventures in Wonderland", "wrote", "Lewis Carroll"), ("The Hobbit", "wrote", "J. R. R. Tolkien"),
    ("The Lord of the Rings", "wrote", "J. R. R. Tolkien"), ("the Harry Potter books", "wrote", "J. K. Rowling"),
    ("the Sherlock Holmes stories", "wrote", "Arthur Conan Doyle"), ("The Raven", "wrote", "Edgar Allan Poe"),
    ("Robinson Crusoe", "wrote", "Daniel Defoe"), ("Gulliver's Travels", "wrote", "Jonathan Swift"),
    ("Treasure Island", "wrote", "Robert Louis Stevenson"), ("The Jungle Book", "wrote", "Rudyard Kipling"),
    ("Little Women", "wrote", "Louisa May Alcott"), ("Jane Eyre", "wrote", "Charlotte Brontë"),
    ("Wuthering Heights", "wrote", "Emily Brontë"), ("The Canterbury Tales", "wrote", "Geoffrey Chaucer"),
    ("The Little Prince", "wrote", "Antoine de Saint-Exupéry"), ("Brave New World", "wrote", "Aldous Huxley"),
    ("The Catcher in the Rye", "wrote", "J. D. Salinger"), ("On the Origin of Species", "wrote", "Charles Darwin"),
    ("the Mona Lisa", "painted", "Leonardo da Vinci"), ("The Last Supper", "painted", "Leonardo da Vinci"),
("Guernica", "painted", "Pablo Picasso"),
    ("The Scream", "painted", "Edvard Munch"), ("Girl with a Pearl Earring", "painted", "Johannes Vermeer"),
    ("The Persistence of Memory", "painted", "Salvador Dalí"), ("The Night Watch", "painted", "Rembrandt"),
    ("The Magic Flute", "composed", "Wolfgang Amadeus Mozart"), ("The Four Seasons", "composed", "Antonio Vivaldi"),
    ("Swan Lake", "composed", "Pyotr Ilyich Tchaikovsky"), ("The Nutcracker", "composed", "Pyotr Ilyich Tchaikovsky"),
    ("Messiah", "composed", "George Frideric Handel"), ("the Brandenburg Concertos", "composed", "Johann Sebastian Bach"),
    ("Boléro", "composed", "Maurice Ravel"), ("Clair de Lune", "composed", "Claude Debussy"),
    ("the opera Carmen", "composed", "Georges Bizet"),
]
WORK_Q = ["Who {v} {w}?", "Who {v} {w}, do you know?", "Which artist {v} {w}?", "{w} was {pv} by whom?"]
PASSIVE = {"wrote": "written", "painted": "painted", "composed": "composed"}

PEOPLE = [  # (question, answer sentence)
    ("Who invented the light bulb?", "The light bulb was invented by Thomas Edison."),
    ("Who invented the World Wide Web?", "The World Wide Web was invented by Tim Berners-Lee."),
    ("Who built the first successful airplane?", "The first successful airplane was built by the Wright brothers."),
    ("Who invented the printing press?", "The printing press was invented by Johannes Gutenberg."),
    ("Who developed the polio vaccine?", "The polio vaccine was developed by Jonas Salk."),
    ("Who discovered X-rays?", "X-rays were discovered by Wilhelm Röntgen."),
    ("Who proposed the theory of evolution by natural selection?", "Evolution by natural selection was proposed by Charles Darwin."),
    ("Who created the periodic table?", "The periodic table was created by Dmitri Mendeleev."),
    ("Who developed the first smallpox vaccine?", "The first smallpox vaccine was developed by Edward Jenner."),
    ("Who invented pasteurization?", "Pasteurization was invented by Louis Pasteur."),
    ("Who was the first person to reach the South Pole?", "The first person to reach the South Pole was Roald Amundsen."),
    ("Who is known as the father of computers?", "The father of computers is Charles Babbage."),
    ("Who wrote the first computer program?", "The first computer program was written by Ada Lovelace."),
    ("Who led India's independence movement with nonviolence?", "India's independence movement was led by Mahatma Gandhi."),
    ("Who gave the \"I Have a Dream\" speech?", "The \"I Have a Dream\" speech was given by Martin Luther King Jr."),
    ("Who was Napoleon?", "Napoleon Bonaparte was a French military leader and emperor."),
    ("Who sculpted The Thinker?", "The Thinker was sculpted by Auguste Rodin."),
    ("Who discovered the structure of DNA?", "The structure of DNA was discovered by James Watson and Francis Crick."),
    ("Who invented the radio?", "The radio was invented by Guglielmo Marconi."),
    ("Who founded the Ford Motor Company?", "The Ford Motor Company was founded by Henry Ford."),
    ("Who was the first person to sail around the world?", "The first expedition to sail around the world was Ferdinand Magellan's."),
]

FACTS = [  # (question, answer sentence): science, nature, geography, history, everyday numbers
    ("What is the chemical symbol for oxygen?", "The chemical symbol for oxygen is O."),
    ("What is the chemical symbol for silver?", "The chemical symbol for silver is Ag."),
    ("What is the chemical symbol for iron?", "The chemical symbol for iron is Fe."),
    ("What is the chemical symbol for carbon?", "The chemical symbol for carbon is C."),
    ("What is the chemical symbol for helium?", "The chemical symbol for helium is He."),
    ("What is the chemical symbol for copper?", "The chemical symbol for copper is Cu."),
    ("What is the chemical symbol for lead?", "The chemical symbol for lead is Pb."),
    ("What is the chemical symbol for potassium?", "The chemical symbol for potassium is K."),
    ("What is the chemical formula of table salt?", "The chemical formula of table salt is NaCl."),
    ("Which gas do humans need to breathe to live?", "Humans need oxygen to breathe."),
    ("What is the powerhouse of the cell?", "The mitochondria are the powerhouse of the cell."),
    ("What is the largest organ of the human body?", "The skin is the largest organ of the human body."),
    ("How many bones are in the adult human body?", "The adult human body has 206 bones."),
    ("How many teeth does an adult human have?", "An adult human has 32 teeth."),
    ("How many chromosomes do humans have?", "Humans have 46 chromosomes."),
    ("Which organs do we breathe with?", "We breathe with our lungs."),
    ("What is the natural satellite of our planet called?", "Our planet's natural satellite is the Moon."),
    ("How long does the Moon take to orbit our planet?", "The Moon takes about 27 days to orbit our planet."),
    ("What is the speed of light?", "The speed of light is about 300,000 kilometers per second."),
    ("What is the speed of sound in air?", "The speed of sound in air is about 343 meters per second."),
    ("What is the longest river in South America?", "The Amazon is the longest river in South America."),
    ("What is the highest waterfall in the world?", "Angel Falls in Venezuela is the highest waterfall in the world."),
    ("What is the largest island in the world?", "Greenland is the largest island in the world."),
    ("What is the deepest point in the ocean?", "The Mariana Trench is the deepest point in the ocean."),
    ("What is the smallest country in the world?", "Vatican City is the smallest country in the world."),
    ("Which desert is the driest in the world?", "The Atacama Desert is the driest desert in the world."),
    ("Which mountain range contains the highest peaks in South America?", "The Andes contain the highest peaks in South America."),
    ("In which city is the Statue of Liberty?", "The Statue of Liberty is in New York City."),
    ("In which country is Machu Picchu?", "Machu Picchu is in Peru."),
    ("In which country is the Taj Mahal?", "The Taj Mahal is in India."),
    ("In which country is Angkor Wat?", "Angkor Wat is in Cambodia."),
    ("What is the currency of the Eurozone?", "The currency of the Eurozone is the euro."),
    ("What is the currency of India?", "The currency of India is the rupee."),
    ("What is the currency of Switzerland?", "The currency of Switzerland is the Swiss franc."),
    ("What is the currency of South Korea?", "The currency of South Korea is the won."),
    ("What language is mainly spoken in Austria?", "German is the main language spoken in Austria."),
    ("What language do people speak in the Netherlands?", "People in the Netherlands speak Dutch."),
    ("What language is spoken in Sweden?", "Swedish is spoken in Sweden."),
    ("What language is spoken in Poland?", "Polish is spoken in Poland."),
    ("What language is spoken in Turkey?", "Turkish is spoken in Turkey."),
    ("In what year did the Titanic sink?", "The Titanic sank in 1912."),
    ("In what year did the French Revolution begin?", "The French Revolution began in 1789."),
    ("In what year was the Declaration of Independence signed?", "The Declaration of Independence was signed in 1776."),
    ("In what year did the Roman Empire in the west fall?", "The Western Roman Empire fell in 476."),
    ("When did the Soviet Union collapse?", "The Soviet Union collapsed in 1991."),
    ("When was the Magna Carta signed?", "The Magna Carta was signed in 1215."),
    ("When did the Wright brothers first fly?", "The Wright brothers first flew in 1903."),
    ("How many strings does a standard guitar have?", "A standard guitar has six strings."),
    ("How many keys does a standard piano have?", "A standard piano has 88 keys."),
    ("How many players are on a soccer team on the field?", "A soccer team has eleven players on the field."),
    ("How many players does a basketball team have on the court?", "A basketball team has five players on the court."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("How many sides does an octagon have?", "An octagon has eight sides."),
    ("How many degrees are in a right angle?", "A right angle has 90 degrees."),
    ("How many degrees are in a circle?", "A circle has 360 degrees."),
    ("How many seconds are in a minute?", "There are 60 seconds in a minute."),
    ("How many weeks are in a year?", "A year has 52 weeks."),
    ("How many centimeters are in a meter?", "There are 100 centimeters in a meter."),
    ("How many grams are in a kilogram?", "There are 1,000 grams in a kilogram."),
    ("How many letters are in the English alphabet?", "The English alphabet has 26 letters."),
    ("How many legs does a dog have?", "A dog has four legs."),
    ("How many colors are in a rainbow?", "A rainbow has seven colors."),
    ("What is the square root of 81?", "The square root of 81 is 9."),
    ("What is the value of pi to two decimal places?", "Pi is about 3.14."),
    ("What is the largest bird?", "The ostrich is the largest bird."),
    ("What is the tallest animal?", "The giraffe is the tallest animal."),
    ("What is the slowest mammal?", "The sloth is one of the slowest mammals."),
    ("Which animal is known as the king of the jungle?", "The lion is known as the king of the jungle."),
    ("What do caterpillars turn into?", "Caterpillars turn into butterflies or moths."),
    ("What do pandas mainly eat?", "Pandas mainly eat bamboo."),
    ("What is a baby kangaroo called?", "A baby kangaroo is called a joey."),
    ("What is a group of wolves called?", "A group of wolves is called a pack."),
    ("Which is the largest fish?", "The whale shark is the largest fish."),
    ("What is the main ingredient of guacamole?", "The main ingredient of guacamole is avocado."),
    ("What is the main ingredient in hummus?", "The main ingredient in hummus is chickpeas."),
    ("Which fruit is dried to make raisins?", "Raisins are dried grapes."),
    ("What is tofu made from?", "Tofu is made from soybeans."),
    ("What color do you get by mixing red and white?", "Mixing red and white makes pink."),
    ("What is the opposite of north?", "The opposite of north is south."),
    ("What is a stock photo?", "A stock photo is a ready-made photo licensed for reuse."),
    ("What does DNA stand for?", "DNA stands for deoxyribonucleic acid."),
    ("What does NASA stand for?", "NASA stands for National Aeronautics and Space Administration."),
    ("What does CPU stand for?", "CPU stands for central processing unit."),
    ("What is a haiku?", "A haiku is a short poem of three lines."),
    ("What is the Pythagorean theorem?", "The Pythagorean theorem says a² + b² = c² in a right triangle."),
    ("What is the tallest building in the world?", "The Burj Khalifa in Dubai is the tallest building in the world."),
    ("What sport is played at Wimbledon?", "Tennis is played at Wimbledon."),
    ("How often are the Summer Olympics held?", "The Summer Olympics are held every four years."),
    ("What is the normal human body temperature?", "Normal human body temperature is about 37 °C (98.6 °F)."),
    ("Which vitamin do we get from sunlight?", "We get vitamin D from sunlight."),
    ("What is the largest moon of Saturn?", "Titan is the largest moon of Saturn."),
    ("Which planet has the most famous rings?", "Saturn has the most famous rings."),
]

# Small talk the pipeline routes to tc-answer: a short friendly reply, no facts.
SMALL_TALK = [
    ("hi", "Hello! How can I help you today?"), ("Hello!", "Hello! How can I help you today?"),
    ("hey there", "Hey! What can I do for you?"), ("good morning", "Good morning! How can I help?"),
    ("Good evening!", "Good evening! How can I help?"), ("how are you?", "I'm doing well, thanks! How can I help?"),
    ("How's it going?", "All good here, thanks! What can I do for you?"),
    ("thanks", "You're welcome!"), ("thank you so much!", "You're very welcome!"),
    ("Thanks, that's all.", "You're welcome! Have a great day."), ("cheers, that helped", "Glad it helped!"),
    ("great, thanks a lot", "You're welcome!"), ("ok bye", "Goodbye! Have a nice day."),
    ("see you later", "See you later!"), ("you're awesome", "Thank you, happy to help!"),
    ("nice one", "Thanks! Anything else?"), ("what's your name?", "I'm your assistant. How can I help?"),
    ("Who are you?", "I'm an assistant that can answer questions and use tools for you."),
    ("What can you do?", "I can answer questions and use the tools you give me."),
    ("good night", "Good night!"), ("Appreciate it!", "You're welcome!"),
    ("no that's everything, thank you", "You're welcome! Have a great day."),
]


def rows() -> list[dict[str, str]]:
    """Every training row (``input`` = the question as the pipeline passes it, ``output`` = the answer)."""
    rng = random.Random(SEED)
    out: list[dict[str, str]] = []
    for country, city in CAPITALS:
        for q in rng.sample(CAPITAL_Q, 2):
            out.append({"input": q.format(c=country), "output": CAPITAL_A.format(c=_cap(country), a=city)})
    for work, verb, creator in WORKS:
        for q in rng.sample(WORK_Q, 2):
            if q.startswith("Which artist") and verb != "painted":
                q = q.replace("Which artist", "Which writer" if verb == "wrote" else "Which composer")
            text = q.format(v=verb, w=work, pv=PASSIVE[verb])
            out.append({"input": _cap(text), "output": f"{_cap(work)} was {PASSIVE[verb]} by {creator}."})
    for question, answer in PEOPLE + FACTS:
        if answer:
            out.append({"input": question, "output": answer})
            if rng.random() < 0.35:  # the same fact asked the casual way
                out.append({"input": _casual(question, rng), "output": answer})
    out += [{"input": q, "output": a} for q, a in SMALL_TALK]
    rng.shuffle(out)
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _casual(question: str, rng: random.Random) -> str:
    lead = rng.choice(["Quick question: ", "Any idea ", "Do you know ", "hey, ", "I was wondering, "])
    body = question[0].lower() + question[1:]
    return lead + body


def main() -> None:
    data = rows()
    from gen_tc import BANNED  # the ToolCall-15 literals never go into any row

    for row in data:
        text = (row["input"] + " " + row["output"]).lower()
        hit = [b for b in BANNED if b in text]
        if hit:
            raise SystemExit(f"banned ToolCall-15 literal {hit} in row {row}")
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    tmp.replace(OUT)
    print(f"{len(data)} rows -> {OUT}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
