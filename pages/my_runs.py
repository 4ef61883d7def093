"""My runs: this owner's recent runs, and a way to run one again."""

from core.ui.bootstrap import get_app
from core.ui.my_runs import show_my_runs

show_my_runs(get_app())
