"""The sample world and its words: Acme's products and stores, and customer verbatims.

Verbatims are composed from templates per topic and tone (negative, mixed, positive) with slots
filled on demand (`{days}`, `{amount}`, `{staff}` …), plus openers, closers, titles, emoji and
hashtags, so a few days of data holds thousands of distinct texts whose tone matches the score
the same latent satisfaction gave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NEG, MIX, POS = "neg", "mix", "pos"
TONES = (NEG, MIX, POS)


@dataclass(frozen=True)
class Product:
    name: str
    service: str  # what the customer calls the service
    device: str  # what gets delivered
    offset: float  # effect on latent satisfaction
    weight: float


@dataclass(frozen=True)
class Location:
    city: str
    lat: float
    lon: float
    offset: float
    weight: float


PRODUCTS = (
    Product("Home Broadband", "broadband", "router", 0.0, 0.28),
    Product("Full Fibre 900", "fibre", "hub", 0.3, 0.16),
    Product("Mobile SIM Only", "mobile data", "SIM card", 0.2, 0.2),
    Product("5G Handset Plan", "5G", "new phone", -0.2, 0.14),
    Product("TV & Sport Bundle", "TV", "TV box", -0.1, 0.12),
    Product("Home Phone", "landline", "phone", -0.3, 0.1),
)
LOCATIONS = (
    Location("London", 51.5072, -0.1276, -0.1, 0.3),
    Location("Manchester", 53.4808, -2.2426, 0.1, 0.2),
    Location("Birmingham", 52.4862, -1.8904, 0.0, 0.18),
    Location("Leeds", 53.8008, -1.5491, 0.15, 0.16),
    Location("Glasgow", 55.8642, -4.2518, -0.25, 0.16),
)
JOURNEY_STAGES = ("awareness", "consideration", "purchase", "use", "support", "loyalty")
TOUCHPOINTS = ("web", "app", "store", "delivery", "support", "social")

# topic -> (journey stage, touchpoint) it usually belongs to
TOPICS: dict[str, tuple[str, str]] = {
    "delivery": ("purchase", "delivery"),
    "installation": ("purchase", "delivery"),
    "billing": ("use", "web"),
    "support_wait": ("support", "support"),
    "app": ("use", "app"),
    "staff": ("purchase", "store"),
    "price": ("consideration", "web"),
    "refund": ("support", "support"),
    "cancellation": ("loyalty", "support"),
    "network": ("use", "support"),
    "signup": ("awareness", "web"),
}
TOPIC_WEIGHTS: dict[str, dict[str, float]] = {
    NEG: {"delivery": 10, "installation": 7, "billing": 12, "support_wait": 14, "app": 7, "staff": 4, "price": 8,
          "refund": 7, "cancellation": 8, "network": 13, "signup": 4},
    MIX: {"delivery": 8, "installation": 6, "billing": 9, "support_wait": 10, "app": 8, "staff": 7, "price": 10,
          "refund": 4, "cancellation": 4, "network": 12, "signup": 6},
    POS: {"delivery": 9, "installation": 8, "billing": 5, "support_wait": 10, "app": 8, "staff": 13, "price": 10,
          "refund": 3, "cancellation": 2, "network": 12, "signup": 8},
}

CORE: dict[str, dict[str, tuple[str, ...]]] = {
    "delivery": {
        NEG: (
            "My {device} was meant to arrive on {weekday} and it still hasn't turned up {days} days later.",
            "The courier marked my {device} as delivered but it never arrived.",
            "Waited in all day for the delivery and nobody came.",
            "The {device} arrived damaged and the box had clearly been opened.",
            "Delivery was delayed three times with no explanation.",
            "I was told next day delivery, it took {days} days.",
        ),
        MIX: (
            "Delivery took a bit longer than promised but the {device} arrived in one piece.",
            "The {device} turned up a day late, not the end of the world.",
            "Delivery was fine once it finally got here.",
        ),
        POS: (
            "The {device} arrived the next day, well packaged and easy to set up.",
            "Delivery was quick and the courier even texted me a one hour slot.",
            "Ordered on {weekday} and the {device} was here the next morning.",
            "Delivery was spot on, exactly when they said.",
        ),
    },
    "installation": {
        NEG: (
            "The engineer didn't turn up for the installation and nobody told me.",
            "I took a day off work for the engineer visit and it was cancelled at the last minute.",
            "Installation was booked for {weekday}, it's now been {days} days and still no {service}.",
            "The engineer left cables all over the floor and the {service} still doesn't work.",
        ),
        MIX: (
            "Installation was rescheduled once but the engineer was polite when he came.",
            "Took a couple of visits to get the {service} installed properly.",
        ),
        POS: (
            "The engineer arrived on time, explained everything and was gone within the hour.",
            "Installation was seamless, the {service} was up and running the same afternoon.",
            "Really tidy installation, the engineer even helped me set up the wifi on every device.",
        ),
    },
    "billing": {
        NEG: (
            "I've been overcharged {amount} on my last bill and nobody can explain why.",
            "They took a payment twice this month and I'm now overdrawn.",
            "My bill went up by {amount} without any warning.",
            "I keep getting charged for a {service} add-on I never asked for.",
            "Billing is a complete mess, three different amounts in three months.",
        ),
        MIX: (
            "The bill was higher than I expected but they explained the charges in the end.",
            "There was a mistake on my bill, it got fixed but it took a while.",
            "Billing is a bit confusing but the app shows the breakdown.",
        ),
        POS: (
            "Bills are clear and always the amount I was quoted.",
            "They spotted I was on an old tariff and moved me to a cheaper one, saving me {amount} a month.",
            "Had a query about my bill and it was sorted in minutes.",
        ),
    },
    "support_wait": {
        NEG: (
            "I was on hold for {mins} minutes before being cut off.",
            "Spent over {hours} hours on the phone being passed from department to department.",
            "Nobody answered the live chat, it just said I was number {queue} in the queue.",
            "Called {times} times about the same problem and had to explain it from scratch every time.",
            "Customer service is useless, they promised a call back that never happened.",
            'Apparently being a "priority" customer means waiting {mins} minutes to speak to anyone.',
        ),
        MIX: (
            "Took a while to get through to someone but the agent was helpful in the end.",
            "The wait on the phone was long, about {mins} minutes, but the issue was resolved.",
            "Live chat was slow but got there eventually.",
        ),
        POS: (
            "Got through to someone in under {short_mins} minutes and they sorted everything.",
            "The support team were quick and actually listened.",
            "{staff} on the helpline was fantastic, really patient and knew exactly what to do.",
            "Live chat answered straight away and fixed it there and then.",
        ),
    },
    "app": {
        NEG: (
            "The app keeps crashing every time I try to pay my bill.",
            "Since the last update the app won't let me log in.",
            "The app shows the wrong data usage and support just tell me to reinstall it.",
            "Couldn't change my plan in the app, it just shows an error.",
        ),
        MIX: (
            "The app is okay but it logs me out constantly.",
            "App does the basics but it's slow.",
        ),
        POS: (
            "The app is brilliant, I can see my usage and pay my bill in seconds.",
            "Upgraded my plan through the app in a couple of taps, really easy.",
            "Love the app, everything is in one place.",
        ),
    },
    "staff": {
        NEG: (
            "The staff in the {location} store were rude and clearly didn't want to help.",
            "Went into the {location} shop and was ignored for twenty minutes.",
            "The sales assistant in {location} gave me completely wrong information about my contract.",
        ),
        MIX: (
            "Staff in the {location} store were friendly but couldn't actually fix my problem.",
            "The shop in {location} was busy but I got seen eventually.",
        ),
        POS: (
            "{staff} in the {location} store was so friendly and helpful.",
            "Popped into the {location} shop and they sorted my {device} in ten minutes.",
            "The team at the {location} store went above and beyond.",
            "Really friendly staff, {staff} explained every option without any pressure.",
        ),
    },
    "price": {
        NEG: (
            "Way too expensive for what you get.",
            "The price went up mid-contract, that's a scam.",
            "New customers get a better deal than loyal ones, it's a joke.",
            "Paying {amount} a month for {service} that barely works.",
        ),
        MIX: (
            "Not the cheapest but not the worst either.",
            "Price is fair I suppose, although the mid-contract rise was annoying.",
        ),
        POS: (
            "Great value for money compared to what I was paying before.",
            "Really competitive price and no hidden charges.",
            "Saved {amount} a month by switching, and the service is better.",
        ),
    },
    "refund": {
        NEG: (
            "Still waiting for a refund of {amount} after {weeks} weeks.",
            "They promised a refund and then denied ever saying it.",
            "I returned the {device} a month ago and haven't been refunded.",
        ),
        MIX: (
            "Got my refund in the end but I had to chase it several times.",
            "The refund took {weeks} weeks, longer than they said.",
        ),
        POS: (
            "Refunded the same day, no questions asked.",
            "They refunded the {amount} straight away when I pointed out the mistake.",
        ),
    },
    "cancellation": {
        NEG: (
            "Trying to cancel is impossible, they keep transferring me to retentions.",
            "I cancelled {weeks} weeks ago and they're still taking money.",
            "Was charged an exit fee of {amount} even though I was out of contract.",
            "They made cancelling so difficult I had to complain in writing.",
        ),
        MIX: (
            "Cancelling took a couple of calls but it was done in the end.",
            "They tried hard to keep me, which was a bit much, but the cancellation went through.",
        ),
        POS: (
            "Cancelling my old add-on was quick and painless.",
            "Moved house and they transferred everything over, no fuss at all.",
        ),
    },
    "network": {
        NEG: (
            "The {service} drops out every evening, completely unusable.",
            "Speeds are nowhere near what was promised, I get about {low_speed}Mb on a good day.",
            "There's been an outage in {location} for {days} days and no updates.",
            "No signal at all in my house since the mast work in {location}.",
            "The {service} has been down since {weekday} and nobody can tell me when it will be fixed.",
        ),
        MIX: (
            "Speed is fine most of the time but it drops off at night.",
            "Signal is good in town but patchy at home.",
            "The {service} is reliable enough, just not as fast as advertised.",
        ),
        POS: (
            "The {service} is fast and reliable, not a single drop out in months.",
            "Getting over {speed}Mb consistently, really happy.",
            "Signal is great everywhere I go, even on the train.",
        ),
    },
    "signup": {
        NEG: (
            "Signing up online took ages and the website kept timing out.",
            "The offer I signed up for wasn't applied to my account.",
            "Switching over was a nightmare, I was without {service} for {days} days.",
        ),
        MIX: (
            "Signing up was straightforward, although the credit check took a while.",
            "The switch went through, just slower than expected.",
        ),
        POS: (
            "Signing up online took five minutes and everything was explained clearly.",
            "Switching from {competitor} was hassle-free, they handled everything.",
            "Easy to sign up and the welcome email had all the info I needed.",
        ),
    },
}
OPENERS = {
    NEG: ("Where do I even start.", "Absolutely fuming.",
          "I've been a customer for {years} years and this is the final straw.", "Avoid if you can.",
          "Really disappointed.", "Not impressed at all.",
          "Sorry but this has been a shambles from start to finish.",
          "I don't normally write reviews but I have to warn people."),
    MIX: ("Mixed feelings really.", "It's okay I suppose.", "Some good, some bad.", "Not bad overall.",
          "Decent enough but room for improvement.", "Bit of a mixed bag."),
    POS: ("Really impressed.", "Can't fault them.", "Genuinely great experience.", "Very happy customer.",
          "I was nervous about switching but needn't have been.",
          "Been with {brand} for {years} years and never had a problem.", "Brilliant.",
          "Great experience from start to finish."),
}
CLOSERS = {
    NEG: ("Will be leaving as soon as my contract ends.", "Would not recommend.", "Absolutely useless.",
          "Still waiting for someone to call me back.", "Taking this to the ombudsman.",
          "Save yourself the hassle and go elsewhere.", "Sort it out {brand}.", "Zero stars if I could."),
    MIX: ("Hopefully they sort it out.", "Would probably stay if the price was right.",
          "Could be better, could be worse.", "Fine for now.", "Not perfect but it does the job."),
    POS: ("Would definitely recommend.", "Thanks again!", "Keep it up.", "Highly recommend {brand}.",
          "Will be staying for sure.", "Couldn't ask for more.", "10/10."),
}
PRODUCT_LINES = ("I'm on the {product} package.", "We have the {product} deal.", "Customer on {product}.")
TITLES = {
    NEG: ("Avoid", "Terrible service", "Absolutely shocking", "Worst provider ever", "Still waiting",
          "Useless customer service", "Overcharged again", "Do not switch", "Very disappointed", "Appalling",
          "Not fit for purpose", "Shambles", "Rip off", "Never again"),
    MIX: ("Okay but could be better", "Mixed experience", "Average", "Decent but slow", "Not bad",
          "Fine for now", "Room for improvement", "Good product, poor service"),
    POS: ("Brilliant service", "Excellent", "Really happy", "Fast and reliable", "Great value",
          "Highly recommend", "Spot on", "Superb customer service", "Quick and easy", "Couldn't be happier"),
}
POSTS = {
    NEG: (
        "{h} my {service} has been down since {weekday}, any update?? {emoji}",
        "been on hold to {h} for {mins} minutes now {emoji}",
        "{h} why has my bill gone up by {amount}?",
        "absolutely done with {h}. {days} days without {service} and nobody can tell me anything {emoji}",
        "{h} your app keeps crashing when I try to pay, sort it out",
        "3rd time my {device} delivery has been rescheduled {h} {emoji}",
        "{h} still waiting on that refund...",
        "is {h} down for anyone else in {location}? {emoji}",
        "imagine charging {amount} a month for {service} that drops out every evening. {h} {emoji}",
        "{h} engineer no show AGAIN. took the day off for nothing",
    ),
    MIX: (
        "{h} {service} is fine but the app is so slow",
        "thinking of switching to {h}, anyone got them in {location}? good or bad?",
        "{h} delivery was late but the {device} works fine tbf",
        "on hold to {h} but at least the hold music is decent {emoji}",
        "{h} ok so the price went up again but at least the {service} works",
    ),
    POS: (
        "shoutout to {h} for sorting my bill in {short_mins} mins {emoji}",
        "{h} {service} has been flawless since I switched {emoji}",
        "got my {device} from {h} next day, set up in minutes {emoji}",
        "{staff} at the {h} store in {location} is a legend {emoji}",
        "honestly {h} customer service is top tier {emoji}",
        "switched to {h} and saving {amount} a month {emoji}",
        "{speed}Mb on {h} full fibre & not complaining {emoji}",
    ),
}
OUTAGE_POSTS = (
    "{h} is the {service} down in {location}?? nothing since this morning {emoji}",
    "another {h} outage in {location}. working from home is impossible {emoji}",
    "{h} status page says no issues but half of {location} is offline {emoji}",
)
EMOJI = {NEG: ("😡", "🙄", "😤", "🤬", "😩", "👎", "💀"), MIX: ("🤷", "😐", "🤔", "😅"),
         POS: ("🙌", "👏", "😍", "🔥", "💯", "😊", "❤️")}
HASHTAGS = {NEG: ("#fail", "#customerservice", "#outage", "#rippedoff"), MIX: ("#broadband", "#mobile"),
            POS: ("#happycustomer", "#fibre", "#{brand}")}
REPLIES = {
    NEG: (
        "Hi {name}, I'm really sorry to hear about your experience. Please email us at help@{domain} with "
        "your account number so we can look into this for you. {agent}, {brand} Customer Care",
        "Hello {name}, thank you for your feedback and apologies for the inconvenience. We've passed this on "
        "to the relevant team. Kind regards, {agent}",
        "Hi {name}, this isn't the service we aim to provide. I've raised this with our complaints team and "
        "someone will be in touch within 48 hours. {agent}",
    ),
    POS: (
        "Thanks so much for the lovely review, {name}! We're delighted you're happy. {agent}, {brand}",
        "Hi {name}, thank you for taking the time to leave a review, it means a lot to the team. {agent}",
        "Great to hear, {name}! We'll pass your kind words on. {agent}",
    ),
}
FIRST_NAMES = (
    "Sarah", "James", "Emma", "Mohammed", "Olivia", "Jack", "Amelia", "Harry", "Priya", "Thomas", "Chloe",
    "Daniel", "Aisha", "Liam", "Sophie", "Callum", "Megan", "Ryan", "Zara", "Connor", "Hannah", "Ben",
    "Fatima", "Lewis", "Grace", "Adam", "Ellie", "Kieran", "Niamh", "Owen", "Jade", "Rhys", "Lucy", "Gareth",
    "Ama", "Wei", "Tomasz", "Siobhan", "Hamza", "Isla", "Gemma", "Dave", "Paul", "Karen", "Margaret", "Ian",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Khan", "Wood", "Jackson",
    "Clarke", "Hughes", "Ahmed", "Campbell", "Murphy", "Kowalski", "O'Brien", "MacDonald", "Okafor", "Chen",
)
STAFF = ("Priya", "Tom", "Aisha", "Dave", "Megan", "Callum", "Sophie", "Jamal", "Ellie", "Gareth", "Nadia", "Rob")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Slots(dict):
    """Template slots: fixed context values, anything else drawn from `rng` when first used."""

    def __init__(self, rng: random.Random, **context: str) -> None:
        super().__init__(context)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        r = self.rng
        value = {
            "days": lambda: str(r.randint(2, 14)),
            "weeks": lambda: str(r.randint(2, 8)),
            "hours": lambda: str(r.randint(2, 5)),
            "mins": lambda: str(r.randrange(25, 100, 5)),
            "short_mins": lambda: str(r.randint(2, 10)),
            "amount": lambda: f"£{r.choice((12, 15, 18, 20, 25, 30, 35, 45, 60, 80, 120, 150))}",
            "speed": lambda: str(r.choice((150, 300, 500, 700, 850, 900))),
            "low_speed": lambda: str(r.choice((3, 5, 8, 10, 12, 20))),
            "queue": lambda: str(r.randint(12, 60)),
            "times": lambda: str(r.randint(3, 7)),
            "years": lambda: str(r.randint(2, 15)),
            "staff": lambda: r.choice(STAFF),
            "weekday": lambda: r.choice(WEEKDAYS),
        }[key]()
        self[key] = value
        return value


def topic_for(rng: random.Random, tone: str) -> str:
    """A topic, weighted by how often customers of this tone raise it."""
    weights = TOPIC_WEIGHTS[tone]
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def _sentences(rng: random.Random, tone: str, topic: str, slots: Slots, extra: float) -> list[str]:
    """The core sentence about `topic`, and with probability `extra` one about another topic."""
    out = [rng.choice(CORE[topic][tone]).format_map(slots)]
    if rng.random() < extra:
        other = topic_for(rng, tone)
        if other != topic:
            out.append(rng.choice(CORE[other][tone]).format_map(slots))
    return out


def survey_comment(rng: random.Random, tone: str, topic: str, slots: Slots) -> str:
    """A survey verbatim: one or two sentences, sometimes casual, sometimes over two lines."""
    parts = _sentences(rng, tone, topic, slots, extra=0.35)
    if rng.random() < 0.2:
        parts.append(rng.choice(CLOSERS[tone]).format_map(slots))
    text = ("\n" if rng.random() < 0.04 else " ").join(parts)
    roll = rng.random()
    if roll < 0.08:
        text = text.lower()
    elif roll < 0.16:
        text = text.rstrip(".!")
    return text


def review_text(rng: random.Random, tone: str, topic: str, slots: Slots) -> tuple[str, str]:
    """A Trustpilot title and body: opener, one or two topic sentences, product line, closer."""
    parts = []
    if rng.random() < 0.5:
        parts.append(rng.choice(OPENERS[tone]).format_map(slots))
    parts.extend(_sentences(rng, tone, topic, slots, extra=0.6))
    if rng.random() < 0.25:
        parts.insert(1 if parts else 0, rng.choice(PRODUCT_LINES).format_map(slots))
    if rng.random() < 0.6:
        parts.append(rng.choice(CLOSERS[tone]).format_map(slots))
    title = rng.choice(TITLES[tone])
    return title, " ".join(parts)


def post_text(rng: random.Random, tone: str, slots: Slots, outage: bool = False) -> str:
    """An X post naming `slots['h']` (a handle or name), with emoji and maybe a hashtag."""
    slots["emoji"] = rng.choice(EMOJI[tone]) * rng.choice((1, 1, 1, 2, 3))
    template = rng.choice(OUTAGE_POSTS if outage else POSTS[tone])
    text = template.format_map(slots)
    if rng.random() < 0.35:
        text += " " + rng.choice(HASHTAGS[tone]).format_map(slots)
    return text


def owner_reply(index: int, stars: int, name: str, agent: str, brand: str) -> str:
    """The business's reply to a review: apologetic below four stars, thankful otherwise."""
    options = REPLIES[NEG if stars < 4 else POS]
    first = name.split()[0] if name.strip() else "there"
    return options[index % len(options)].format(name=first, agent=agent, brand=brand,
                                                domain=f"{brand.lower()}.co.uk")
