"""Key names as clients give them (Playwright's: "Enter", "Shift+Tab", "a") in W3C WebDriver's code points."""

from __future__ import annotations

NAMED: dict[str, str] = {
    "Cancel": "\ue001",
    "Help": "\ue002",
    "Backspace": "\ue003",
    "Tab": "\ue004",
    "Clear": "\ue005",
    "Enter": "\ue007",
    "Shift": "\ue008",
    "Control": "\ue009",
    "Alt": "\ue00a",
    "Pause": "\ue00b",
    "Escape": "\ue00c",
    " ": "\ue00d",
    "Space": "\ue00d",
    "PageUp": "\ue00e",
    "PageDown": "\ue00f",
    "End": "\ue010",
    "Home": "\ue011",
    "ArrowLeft": "\ue012",
    "ArrowUp": "\ue013",
    "ArrowRight": "\ue014",
    "ArrowDown": "\ue015",
    "Insert": "\ue016",
    "Delete": "\ue017",
    "Meta": "\ue03d",
    **{f"F{n}": chr(0xE031 + n - 1) for n in range(1, 13)},
}

# Playwright's aliases.
NAMED["ControlOrMeta"] = NAMED["Control"]
NAMED["Esc"] = NAMED["Escape"]


def code_points(combination: str) -> list[str] | None:
    """ "Shift+Tab" → the code points to hold down in order; None when a part names no key."""
    parts = combination.split("+") if combination != "+" else ["+"]
    if any(part == "" for part in parts):
        # "Control++" means Control and the plus key.
        if combination.endswith("++"):
            parts = [*combination[:-2].split("+"), "+"]
        else:
            return None
    keys = []
    for part in parts:
        if part in NAMED:
            keys.append(NAMED[part])
        elif len(part) == 1:
            keys.append(part)
        elif part.startswith("Key") and len(part) == 4:
            keys.append(part[3].lower())
        elif part.startswith("Digit") and len(part) == 6:
            keys.append(part[5])
        else:
            return None
    return keys


def typed(character: str) -> str:
    """What typing `character` presses: a newline is Enter, as in Playwright."""
    return NAMED["Enter"] if character == "\n" else character
