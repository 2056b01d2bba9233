"""Generate the support-triage train and held-out sets: a customer message -> billing | bug | account | feature.

The two splits are written from disjoint phrasings: train messages are short chat-widget texts, held-out
messages are longer emails, app-store reviews and tweets about *other* product areas, so held-out exact
match measures routing by meaning rather than by the training templates' keywords.

    python programs/data/gen_support_triage.py     # rewrites support-triage.{train,heldout}.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from pawflow.storage import atomic_write_text

HERE = Path(__file__).resolve().parent
Gen = Callable[[random.Random], str]

PLANS = ["Pro", "Team", "Basic", "Premium", "Business", "Starter"]
FEATURES_TRAIN = ["the export button", "the dashboard", "file upload", "search", "the calendar view", "notifications"]
FEATURES_HELD = ["the invoice PDF generator", "the Android widget", "CSV import", "the API webhooks", "dark mode", "the Slack integration"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def amt(r: random.Random) -> str:
    return f"${r.randint(5, 300)}.{r.choice(['00', '99', '49'])}"


TRAIN: dict[str, list[Gen]] = {
    "billing": [
        lambda r: f"I was charged twice for my {r.choice(PLANS)} plan this month",
        lambda r: f"why is my invoice {amt(r)} when the plan says {amt(r)}?",
        lambda r: f"how do I get a refund for the {r.choice(PLANS)} subscription",
        lambda r: f"please cancel my subscription, I don't want to be billed again in {r.choice(MONTHS)}",
        lambda r: f"my card got declined but I still see a pending charge of {amt(r)}",
        lambda r: "can I switch from monthly to yearly billing and get the discount?",
        lambda r: f"need a VAT invoice for the {amt(r)} payment",
    ],
    "bug": [
        lambda r: f"{r.choice(FEATURES_TRAIN)} is broken, nothing happens when I click it",
        lambda r: f"app crashes every time I open {r.choice(FEATURES_TRAIN)}",
        lambda r: f"getting an error 500 when I use {r.choice(FEATURES_TRAIN)}",
        lambda r: f"{r.choice(FEATURES_TRAIN)} shows the wrong data since the update",
        lambda r: f"the page just spins forever on {r.choice(FEATURES_TRAIN)}",
        lambda r: f"{r.choice(FEATURES_TRAIN)} stopped working after version {r.randint(2, 9)}.{r.randint(0, 20)}",
    ],
    "account": [
        lambda r: "I forgot my password and the reset email never arrives",
        lambda r: "how do I change the email address on my account?",
        lambda r: "I'm locked out after too many login attempts",
        lambda r: "lost my phone, how do I turn off two-factor auth",
        lambda r: "please delete my account and all my data",
        lambda r: f"can you add my colleague to our {r.choice(PLANS)} workspace as an admin",
        lambda r: "I can't log in with Google anymore",
    ],
    "feature": [
        lambda r: f"it would be great if {r.choice(FEATURES_TRAIN)} could also do bulk actions",
        lambda r: f"please add keyboard shortcuts to {r.choice(FEATURES_TRAIN)}",
        lambda r: f"any plans to support {r.choice(['Linux', 'iPad', 'offline mode', 'Spanish', 'SSO'])}?",
        lambda r: f"can you make {r.choice(FEATURES_TRAIN)} customizable? I'd love to pick colors",
        lambda r: f"feature request: let us schedule {r.choice(['reports', 'exports', 'reminders'])} weekly",
        lambda r: "would love an integration with Zapier",
    ],
}

HELD: dict[str, list[Gen]] = {
    "billing": [
        lambda r: f"Hello, looking at my bank statement I see two payments of {amt(r)} on the same day. Could you look into it? Thanks, {r.choice(['Maria', 'Tom', 'Aisha'])}",
        lambda r: f"1 star. They kept taking money after I downgraded to {r.choice(PLANS)}. Support ignores me.",
        lambda r: f"@support the trial was supposed to be free but you billed me {amt(r)}?? not cool",
        lambda r: f"Hi team, our finance department needs the receipts for {r.choice(MONTHS)} and {r.choice(MONTHS)} re-issued with our new company address.",
        lambda r: f"Is there a student discount? {amt(r)} a month is a lot for me",
        lambda r: f"We were promised a prorated credit when we removed {r.randint(2, 30)} seats, but the next bill is the same.",
    ],
    "bug": [
        lambda r: f"Since this morning {r.choice(FEATURES_HELD)} throws 'unexpected token' and my whole team is blocked. Steps: open it, pick any file, boom.",
        lambda r: f"2 stars, {r.choice(FEATURES_HELD)} freezes the app on my Pixel {r.randint(5, 9)}. Please fix!!",
        lambda r: f"@support {r.choice(FEATURES_HELD)} duplicates every entry since the last release, help",
        lambda r: f"Hi, when I use {r.choice(FEATURES_HELD)} the dates come out one day off (timezone issue?).",
        lambda r: f"Not sure if it's on my end, but {r.choice(FEATURES_HELD)} times out after {r.randint(10, 60)} seconds every single time.",
        lambda r: f"Heads up: {r.choice(FEATURES_HELD)} silently drops rows with accents in the name.",
    ],
    "account": [
        lambda r: f"Hello, I changed jobs and no longer have access to my old work email, so I can't receive the login code. How can I get back in? - {r.choice(['Sam', 'Priya', 'Lukas'])}",
        lambda r: "3 stars. Fine app but there's no way to remove my profile and personal info. GDPR?",
        lambda r: "@support my username was taken over by someone else, I think I got hacked",
        lambda r: f"Hi, please transfer ownership of our workspace to {r.choice(['jane', 'omar', 'li'])}@{r.choice(['acme', 'globex', 'initech'])}.com before I leave the company.",
        lambda r: "The authenticator codes are always rejected, I can't sign in at all.",
        lambda r: "How do I merge my two accounts? I accidentally signed up twice.",
        lambda r: f"{r.randint(2, 5)} stars. Every time I update the app it signs me out and the 'magic link' email takes {r.randint(10, 50)} minutes.",
        lambda r: f"Hi, could you rename my login from {r.choice(['jsmith', 'anna.k', 'dev_ops'])} to something else? I can't find the setting.",
    ],
    "feature": [
        lambda r: f"Dear team, our workflow would be much smoother if {r.choice(FEATURES_HELD)} supported templates. Is that on the roadmap?",
        lambda r: f"4 stars. Love it, just missing {r.choice(['a widget for the lock screen', 'Apple Watch support', 'a tablet layout'])}.",
        lambda r: f"@support please please add {r.choice(['dark mode', 'markdown', 'a Linux client'])} 🙏",
        lambda r: f"Suggestion: let admins set default permissions for {r.choice(FEATURES_HELD)}.",
        lambda r: f"Would you consider an option to export everything to {r.choice(['Notion', 'Excel', 'JSON'])}?",
        lambda r: f"It'd be nice if {r.choice(FEATURES_HELD)} remembered my last settings.",
    ],
}


TRAIN_OPENERS = ["", "", "hi, ", "hey ", "hello! ", "urgent: ", "quick question - "]
TRAIN_CLOSERS = ["", "", " thanks", " pls help", "!", " asap", " :("]


def chat_style(text: str, r: random.Random) -> str:
    """Chat-widget noise (greetings, sign-offs) so fixed train phrasings still vary."""
    return r.choice(TRAIN_OPENERS) + text + r.choice(TRAIN_CLOSERS)


def sample(
    families: dict[str, list[Gen]], per_label: int, r: random.Random, style: Callable[[str, random.Random], str] | None = None
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, gens in families.items():
        made, attempts = 0, 0
        while made < per_label and attempts < per_label * 50:
            text = gens[attempts % len(gens)](r)
            text = style(text, r) if style else text
            attempts += 1
            if text in seen:
                continue
            seen.add(text)
            rows.append({"input": text, "output": label})
            made += 1
    r.shuffle(rows)
    return rows


def build(seed: int = 7177) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    r = random.Random(seed)
    return sample(TRAIN, 55, r, chat_style), sample(HELD, 25, r)


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def main(argv: list[str]) -> int:
    train, heldout = build()
    write_jsonl(HERE / "support-triage.train.jsonl", train)
    write_jsonl(HERE / "support-triage.heldout.jsonl", heldout)
    print(f"support-triage: {len(train)} train, {len(heldout)} held-out rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
