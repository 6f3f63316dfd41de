"""Training-curve figures: axes fitted to the data, legends off the curves,
whole epochs, and `--text` drawing the same curves as the PNG."""
from __future__ import annotations

import pytest

from netc.experiments import plots
from netc.experiments.compare import text_figures


def _records(n=20, validation=True):
    out = []
    for e in range(1, n + 1):
        r = {"epoch": e, "train_loss": 0.3 / e, "train_acc": 0.965 + 0.025 * (1 - 1 / e),
             "val_loss": 0.2 / e + 0.03, "val_acc": 0.966 + 0.02 * (1 - 1 / e),
             "test_loss": 0.2 / e + 0.02, "test_acc": 0.967 + 0.021 * (1 - 1 / e)}
        if not validation:
            r.update(val_loss=None, val_acc=None)
        out.append(r)
    return out


@pytest.fixture
def drawn(monkeypatch):
    """The figure plot_run / plot_comparison made, kept open for inspection."""
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or out)
    yield figures
    import matplotlib.pyplot as plt
    for fig in figures:
        plt.close(fig)


def test_accuracy_axis_fits_the_data_and_the_legends_sit_below_the_axes(drawn, tmp_path):
    plots.plot_run(_records(), tmp_path / "c.png")
    fig = drawn[0]
    loss_ax, acc_ax = fig.axes
    low, high = acc_ax.get_ylim()
    assert 0.96 < low < 0.965 and 0.989 < high < 0.992      # not 0 .. 1
    fig.canvas.draw()
    for ax in (loss_ax, acc_ax):
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 < ax.get_window_extent().y0         # entirely below the plotting area
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation", "test"]
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 20]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_one_epoch_has_one_whole_tick_and_no_validation_no_curve(drawn, tmp_path):
    plots.plot_run(_records(1, validation=False), tmp_path / "c.png")
    for ax in drawn[0].axes:
        assert [t for t in ax.get_xticks() if 0.5 <= t <= 1.5] == [1]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]


def test_text_shows_the_same_curves_as_the_png(drawn, tmp_path):
    records = _records(5)
    plots.plot_run(records, tmp_path / "c.png")
    png = {ax.get_title(): {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
           for ax in drawn[0].axes}
    text = plots.run_text(records)
    for title, series in png.items():
        assert f"{title} per epoch" in text
        legend = text.split(f"{title} per epoch")[1].split("\n\n")[0].splitlines()[-1]
        assert [part.split(" ", 1)[1] for part in legend.split("  ")] == list(series)
    assert {t: s for t, _, s in plots.run_series(records)} == png


def test_compare_text_has_every_curve_of_the_compare_png(drawn, tmp_path):
    variants = [{"label": name, "records": _records(3)} for name in ("sgd", "adam")]
    plots.plot_comparison(variants, tmp_path / "c.png")
    lines = {line.get_label() for ax in drawn[0].axes for line in ax.get_lines()}
    assert lines == {"sgd", "adam", "sgd test", "sgd train", "adam test", "adam train"}
    text = text_figures(variants)
    for title in ("training loss per epoch", "test accuracy per epoch", "training accuracy per epoch"):
        assert title in text
    low, high = drawn[0].axes[1].get_ylim()
    assert low > 0.9
