"""Where the data directory is, from the environment alone: the same wherever a command runs."""

from __future__ import annotations

import os
from pathlib import Path

from driftstack.settings import Settings


def data_dir(**env: str) -> Path:
    return Settings.from_env(env).data_dir


def test_the_data_directory_is_under_xdg_data_home_else_home_and_never_the_current_directory() -> None:
    assert data_dir(HOME="/home/ada", XDG_DATA_HOME="/data/ada") == Path("/data/ada/driftstack")
    assert data_dir(HOME="/home/ada") == Path("/home/ada/.local/share/driftstack")
    # The XDG spec ignores a relative XDG_DATA_HOME: it would name another place in every directory.
    assert data_dir(HOME="/home/ada", XDG_DATA_HOME="rel/data") == Path("/home/ada/.local/share/driftstack")


def test_a_data_directory_the_operator_names_is_made_absolute_once() -> None:
    assert data_dir(DRIFTSTACK_DATA_DIR="/srv/driftstack", HOME="/home/ada") == Path("/srv/driftstack")
    assert data_dir(DRIFTSTACK_DATA_DIR="~/ds", HOME="/home/ada") == Path("/home/ada/ds")
    assert data_dir(DRIFTSTACK_DATA_DIR="ds") == Path(os.getcwd()) / "ds"
