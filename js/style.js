// @ts-check
// Styles of the annotator, scoped under .segpaint-annotator (bundled with the module: one file to ship).
export const CSS = `
.segpaint-annotator { font: 12px/1.4 system-ui, sans-serif; color: var(--jp-ui-font-color1, #222);
  display: flex; flex-direction: column; gap: 4px; outline: none; max-width: 100%; }
.segpaint-annotator:focus-visible { box-shadow: 0 0 0 1px var(--jp-brand-color1, #1976d2); }
.segpaint-annotator .segpaint-toolbar, .segpaint-annotator .segpaint-row { display: flex; flex-wrap: wrap;
  align-items: center; gap: 6px; }
.segpaint-annotator button { font: inherit; padding: 2px 8px; border: 1px solid #9e9e9e; border-radius: 3px;
  background: var(--jp-layout-color1, #fff); color: inherit; cursor: pointer; }
.segpaint-annotator button.segpaint-active { background: var(--jp-brand-color1, #1976d2); color: #fff;
  border-color: var(--jp-brand-color1, #1976d2); }
.segpaint-annotator button:disabled { opacity: 0.5; cursor: default; }
.segpaint-annotator .segpaint-sep { width: 1px; height: 18px; background: #bdbdbd; margin: 0 4px; }
.segpaint-annotator .segpaint-value { font-variant-numeric: tabular-nums; min-width: 3em; display: inline-block; }
.segpaint-annotator input[type=range] { width: 120px; vertical-align: middle; }
.segpaint-annotator input[type=number] { width: 6em; }
.segpaint-annotator input[type=color] { width: 24px; height: 18px; padding: 0; border: none; }
.segpaint-annotator .segpaint-viewport { position: relative; width: 100%; height: 560px; overflow: hidden;
  background: #111; touch-action: none; user-select: none; }
.segpaint-annotator canvas.segpaint-image { position: absolute; left: 0; top: 0; pointer-events: none; }
.segpaint-annotator canvas.segpaint-view { position: absolute; left: 0; top: 0; width: 100%; height: 100%;
  touch-action: none; }
.segpaint-annotator .segpaint-status { font-family: var(--jp-code-font-family, monospace); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; min-height: 1.4em; }
.segpaint-annotator .segpaint-progress { width: 120px; }
`;
