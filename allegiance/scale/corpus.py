"""A synthetic news corpus for benchmarks and fault tests.

Articles are built from this module's own templates (no sentence comes from a real
article). Group, person and place names come from the gazetteer so the extractor finds
actors and relations; at least half of the articles are general news (sport, weather,
economy, culture) that mention no armed group."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)
PLACE_KINDS = ("city", "town", "country", "province", "region")

FIRST = ("Amadou", "Leila", "Tomas", "Grace", "Idris", "Nadia", "Samuel", "Ines", "Karim",
         "Helen", "Oumar", "Sofia", "Daniel", "Mariam", "Victor", "Aisha", "Peter", "Rania")
LAST = ("Okafor", "Lindqvist", "Haddad", "Moreau", "Banda", "Castillo", "Novak", "Mensah",
        "Farouk", "Keller", "Diallo", "Petrov", "Suzuki", "Adeyemi", "Brennan", "Rossi")
ROLES = ("a regional security analyst", "a local official", "a spokesman for the governor",
         "a researcher at a university", "an aid worker", "a resident", "a senior police officer")

# --- armed-group sentences ({g} {g2}: groups, {p}: person, {x} {y}: places) -----------------
RELATION_TEMPLATES = (
    "{p} leads {g}, according to officials in {x}.",
    "{g}, led by {p}, has grown stronger over the past year.",
    "{p} is the leader of {g}.",
    "In {month} {year}, {g} pledged allegiance to {g2}.",
    "{g} pledged allegiance to {g2} in a statement released in {month} {year}.",
    "{g} split from {g2} in {year} after a dispute over strategy.",
    "The faction broke away from {g2} in {year} and now calls itself {g}.",
    "{g} merged with {g2} in {month} {year}.",
    "In {year}, {g} merged into {g2}.",
    "{g} attacked {x} in {y} on {day} {month} {year}, killing {n} people.",
    "Fighters from {g} attacked a military post in {x}, killing {n} soldiers.",
    "{g} claimed responsibility for an attack on {x} that killed {n} civilians.",
    "{g} is active in {x} and {y}.",
    "{g} has been active in {x} since {year}.",
    "{g} operates mainly in {x}, near the border with {y}.",
    "{g} recruits young men in {x}, officials said.",
    "{g} and {g2} are rivals and have clashed repeatedly in {x}.",
    "{g} is allied with {g2}, according to the report.",
    "{p}, a commander of {g}, was killed in {x} in {year}.",
)
CONTEXT_TEMPLATES = (
    "Security forces in {x} said they had increased patrols along the main roads.",
    "{name}, {role}, said the situation in {x} remained tense.",
    "Residents of {x} described hearing gunfire late into the night.",
    "The government has promised to send more troops to {x} before the end of {year}.",
    "Aid agencies say thousands of families have left {x} in recent months.",
    "Talks between community leaders in {y} made little progress this week.",
    "Analysts expect the violence to spread further along the river valley.",
    "The army did not respond to a request for comment on the claims.",
    "Markets in {x} reopened on {day} {month} after being closed for several days.",
    "Officials said the number of displaced people had doubled since {year}.",
)

# --- general news (no armed group) ---------------------------------------------------
GENERAL = {
    "sport": (
        "The home side won {n} to {m} in front of a crowd of {big} in {x}.",
        "{name}, the coach, said the team had worked hard on its defence during the winter.",
        "The club's young striker scored twice in the second half.",
        "Tickets for the final in {x} sold out within {m} hours.",
        "The league will announce its new schedule in {month}.",
        "Supporters travelled from {y} to watch the match.",
        "The cycling race passed through {x} on its way to the mountains.",
        "{name} set a new national record in the {n}00 metres on {day} {month}.",
        "The tennis tournament in {x} attracted players from {n} countries.",
    ),
    "weather": (
        "Heavy rain is expected across {x} over the weekend, forecasters said.",
        "Temperatures in {y} reached {n} degrees on {day} {month}, the highest this year.",
        "Farmers near {x} welcomed the first rains of the season.",
        "The weather service warned of strong winds along the coast near {y}.",
        "{name}, {role}, said the dry spell had lowered the level of local reservoirs.",
        "Snow closed two mountain passes north of {x} for several hours.",
        "Flooding damaged roads and bridges in the south of {y}.",
        "A cooler and wetter month is forecast for {month}.",
    ),
    "economy": (
        "The central bank left its main interest rate unchanged at {n} percent.",
        "Exports from {x} rose by {m} percent in the first quarter of {year}.",
        "{name}, {role}, said small businesses were still struggling with high costs.",
        "The price of bread in {y} has risen for the {m}th month in a row.",
        "A new railway line linking {x} and {y} is due to open in {year}.",
        "Unemployment fell slightly in {month}, according to official figures.",
        "The finance ministry plans to publish its budget on {day} {month}.",
        "Investors are watching the price of oil closely this quarter.",
        "The port of {x} handled a record volume of containers last year.",
    ),
    "culture": (
        "The film festival in {x} opened on {day} {month} with a new comedy.",
        "A collection of old maps went on display at the museum in {y}.",
        "{name}, a novelist from {x}, won the national prize for fiction.",
        "The orchestra will tour {n} cities before returning to {y} in {month}.",
        "Thousands of visitors attended the music festival over the weekend.",
        "The library in {x} has restored more than {big} rare books.",
        "A new theatre production tells the story of a fishing family.",
        "{name}, {role}, said the arts festival had brought tourists back to {x}.",
    ),
}
TITLES = {
    "militant": ("Violence rises in {x}", "{g} expands its reach", "New attacks near {x}",
                 "Armed groups shift alliances in {y}", "Report details fighting in {x}"),
    "sport": ("Home side wins in {x}", "Record crowd in {x}", "Season opens in {y}"),
    "weather": ("Storms expected in {x}", "Heat wave in {y}", "Rain returns to {x}"),
    "economy": ("Prices rise in {y}", "Exports grow in {x}", "Bank holds rates"),
    "culture": ("Festival opens in {x}", "Museum show in {y}", "Prize for {x} writer"),
}


def _names(kinds) -> list[str]:
    from allegiance.resolve.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    entries = gaz.entries.values() if isinstance(gaz.entries, dict) else gaz.entries
    return sorted({e.name for e in entries if e.kind in kinds and len(e.name) > 3})


def _slots(rng: random.Random, groups, people, places) -> dict:
    g, g2 = rng.sample(groups, 2)
    x, y = rng.sample(places, 2)
    return dict(
        g=g, g2=g2, p=rng.choice(people), x=x, y=y,
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", role=rng.choice(ROLES),
        month=rng.choice(MONTHS), day=rng.randint(1, 28), year=rng.randint(2000, 2024),
        n=rng.randint(2, 60), m=rng.randint(2, 9), big=rng.randint(2, 90) * 1000,
    )


def make_article(rng: random.Random, kind: str, groups, people, places, words: tuple[int, int]) -> str:
    """One article of ``kind`` ('militant' or a GENERAL topic) of about ``words`` words."""
    target = rng.randint(*words)
    s = _slots(rng, groups, people, places)
    title = rng.choice(TITLES[kind]).format(**s)
    lead = f"{s['x'].upper()}, {s['month']} {s['day']}, {s['year']} —"
    paras: list[str] = []
    count = len(title.split()) + len(lead.split())
    while count < target:
        sents = []
        for _ in range(rng.randint(2, 5)):
            s = _slots(rng, groups, people, places)
            if kind == "militant":
                pool = RELATION_TEMPLATES if rng.random() < 0.5 else CONTEXT_TEMPLATES
            else:
                pool = GENERAL[kind]
            sents.append(rng.choice(pool).format(**s))
        para = " ".join(sents)
        count += len(para.split())
        paras.append(para)
    paras[0] = f"{lead} {paras[0]}"
    return title + "\n\n" + "\n\n".join(paras) + "\n"


def write_corpus(
    out_dir: str | Path,
    n: int,
    *,
    seed: int = 0,
    examples: str | Path | None = None,
    words: tuple[int, int] = (300, 800),
    general_share: float = 0.5,
) -> list[Path]:
    """Write ``n`` articles into ``out_dir``: the files of ``examples`` (when given) plus
    generated ones; ``general_share`` of the generated ones mention no armed group.
    Deterministic for a given seed. Returns the written paths (sorted)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if examples is not None:
        for src in sorted(Path(examples).iterdir()):
            if src.is_file() and len(written) < n:
                dst = out / f"ex_{src.name}"
                shutil.copyfile(src, dst)
                written.append(dst)
    groups = _names({"armed_group"})
    people = _names({"person"})
    places = _names(set(PLACE_KINDS))
    rng = random.Random(seed)
    rest = n - len(written)
    n_general = max(int(round(rest * general_share)), 0) if rest else 0
    kinds = ["militant"] * (rest - n_general) + [rng.choice(tuple(GENERAL)) for _ in range(n_general)]
    rng.shuffle(kinds)
    for i, kind in enumerate(kinds):
        text = make_article(random.Random(f"{seed}-{i}"), kind, groups, people, places, words)
        path = out / f"gen_{i:06d}_{kind}.txt"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return sorted(written)
