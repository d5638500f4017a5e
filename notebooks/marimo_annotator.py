# /// script
# dependencies = ["segpaint", "marimo"]
# ///
"""segpaint's Annotator in a marimo notebook.

Run it with ``marimo edit notebooks/marimo_annotator.py`` (or ``marimo run``).  The widget is the
same anywidget as in Jupyter, wrapped by ``mo.ui.anywidget``; every stroke goes to the Session,
so the cells below it that read ``session.labels(...)`` re-run when you paint.
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
    mo.md(
        """
        # Correct masks in marimo

        A synthetic two-population movie, pre-segmented with the built-in threshold pipeline.
        Paint with `b`, erase with `e`, fill with `f`, `m` for a new label; draw an ROI with `r`
        and export it from the widget.
        """
    )


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
    return (annotator,)


@app.cell
def _(annotator, mo, np, session):
    # re-runs after each stroke: the widget's value changes when the Session does
    annotator.value  # noqa: B018 - a reference makes marimo re-run this cell
    cells = [len(np.unique(session.labels("targets", t))) - 1 for t in range(session.n_frames)]
    mo.md(f"cells per frame: {cells}")


if __name__ == "__main__":
    app.run()
