import random

import numpy as np
import torch

from optimlab.objectives import square
from optimlab.optim import SGD
from optimlab.source import show_source
from optimlab.utils import default_device, public_name, seed_everything


def test_show_source_of_a_method_and_a_class():
    src = show_source(SGD.update)
    assert src.code.startswith("def update(self, param, grad, state, group):")
    assert "param.add_(" in src.code
    assert src.name == "optimlab.optim.SGD.update"
    assert src.location.startswith("optimlab/optim/sgd.py, lines ")
    page = src._repr_html_()
    assert 'style="' in page and "<span" in page and "update" in page and "class=\"optimlab-source\"" in page
    assert "/" + "work" not in page and "site-packages" not in page  # no machine paths
    assert repr(src).startswith("# optimlab.optim.SGD.update")


def test_show_source_without_docstring():
    with_doc, without = show_source(square), show_source(square, docstring=False)
    assert '"""' in with_doc.code and '"""' not in without.code
    assert without.code.splitlines()[0] == "def square() -> Objective:"
    assert "return Objective(" in without.code


def test_seed_everything_and_device():
    seed_everything(3)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    assert seed_everything(3) is None
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_public_name():
    assert public_name(SGD) == "optimlab.optim.SGD"
    assert public_name(torch.optim.SGD) == "torch.optim.SGD"


def test_explorer_builds_widgets_for_every_optimizer():
    import ipywidgets as widgets

    from optimlab.explorer import default_optimizers, explore
    ui = explore(lr=0.2, steps=5)
    assert isinstance(ui, widgets.VBox)
    dropdowns = [w for box in ui.children[0].children for w in box.children if isinstance(w, widgets.Dropdown)]
    assert "SGD" in dropdowns[1].options and "x²" in dropdowns[0].options
    assert all(isinstance(cls, type) for cls, _ in default_optimizers().values())
