# /// script
# dependencies = ["segpaint", "marimo"]
# ///
"""segpaint's Annotator in a marimo notebook.

Run it with ``marimo edit notebooks/marimo_annotator.py`` (or ``marimo run``).  The widget is the
same anywidget as in Jupyter, wrapped by ``mo.ui.anywidget``; every stroke goes to the Session,
and cells that read ``session.labels(...)`` see your corrections (click "Count cells").
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo
    import numpy as np

    import segpaint
    from segpaint.data import synthetic_timelapse

    return mo, np, segpaint, synthetic_timelapse


@app.cell
def _(mo):
    mo.md("""
    # Correct masks in marimo

    A synthetic two-population movie, pre-segmented with the built-in threshold pipeline.
    Paint with `b`, erase with `e`, fill with `f`, `m` for a new label; draw an ROI with `r`
    and export it from the widget.
    """)
    return


@app.cell
def _(segpaint, synthetic_timelapse):
    data = synthetic_timelapse(n_frames=3, shape=(192, 192), seed=1)
    session = segpaint.open(
        data.image,
        axes="TCYX",
        channel_names=data.channel_names,
        pixel_size_um=data.pixel_size_um,
        populations=["targets"],
        journal=False,
    )
    session.presegment("targets", "threshold", channels=["nuclei"], progress=False)
    return (session,)


@app.cell
def _(mo, session):
    annotator = mo.ui.anywidget(session.annotator("targets"))
    annotator  # noqa: B018 - the last expression is what marimo shows
    return


@app.cell
def _(mo):
    recount = mo.ui.button(label="Count cells", value=0, on_click=lambda n: n + 1)
    recount  # noqa: B018 - the last expression is what marimo shows
    return (recount,)


@app.cell
def _(mo, np, recount, session):
    recount.value  # noqa: B018 - a reference makes marimo re-run this cell on each click
    cells = [len(np.unique(session.labels("targets", t))) - 1 for t in range(session.n_frames)]
    mo.md(f"cells per frame: {cells}")
    return


if __name__ == "__main__":
    app.run()
