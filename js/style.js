// @ts-check
// Styles of the annotator, scoped under .segpaint-annotator (bundled with the module: one file to ship).
export const CSS = `
.segpaint-annotator { font: 12px/1.4 system-ui, sans-serif; color: var(--jp-ui-font-color1, #222);
  display: flex; flex-direction: column; gap: 4px; outline: none; max-width: 100%;
  border: 1px solid var(--jp-border-color1, #bdbdbd); border-radius: 4px; padding: 4px; box-sizing: border-box; }
.segpaint-annotator:focus-visible { box-shadow: 0 0 0 1px var(--jp-brand-color1, #1976d2); }
.segpaint-annotator .segpaint-toolbar, .segpaint-annotator .segpaint-row { display: flex; flex-wrap: wrap;
  align-items: center; gap: 6px; }
.segpaint-annotator button { font: inherit; padding: 2px 8px; border: 1px solid #9e9e9e; border-radius: 3px;
  background: var(--jp-layout-color1, #fff); color: inherit; cursor: pointer; }
.segpaint-annotator .segpaint-cell-tools button { padding: 2px 4px; }
.segpaint-annotator button.segpaint-active { background: var(--jp-brand-color1, #1976d2); color: #fff;
  border-color: var(--jp-brand-color1, #1976d2); }
.segpaint-annotator button:disabled { opacity: 0.5; cursor: default; }
.segpaint-annotator .segpaint-sep { width: 1px; height: 18px; background: #bdbdbd; margin: 0 4px; }
.segpaint-annotator .segpaint-value { font-variant-numeric: tabular-nums; min-width: 3em; display: inline-block; }
.segpaint-annotator input[type=range] { width: 120px; vertical-align: middle; }
.segpaint-annotator input[type=number] { width: 6em; }
.segpaint-annotator input[type=color] { width: 24px; height: 18px; padding: 0; border: none; }
.segpaint-annotator .segpaint-viewport { position: relative; width: 100%; overflow: hidden;
  height: clamp(240px, calc(100vh - 450px), 1600px);
  background: #1a1a1a; touch-action: none; user-select: none; } /* shade.js BACKGROUND: the canvas covers the image only */
.segpaint-annotator canvas.segpaint-image { position: absolute; left: 0; top: 0; pointer-events: none; }
.segpaint-annotator canvas.segpaint-view { position: absolute; left: 0; top: 0; width: 100%; height: 100%;
  touch-action: none; }
.segpaint-annotator .segpaint-status { font-family: var(--jp-code-font-family, monospace); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; height: 1.4em; cursor: pointer; contain: strict; }
.segpaint-annotator .segpaint-status.segpaint-status-full { white-space: pre-wrap; overflow-wrap: anywhere;
  height: auto; min-height: 1.4em; contain: none; }
.segpaint-annotator .segpaint-swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 4px;
  vertical-align: middle; border: 1px solid var(--jp-border-color1, #9e9e9e); border-radius: 2px; }
.segpaint-annotator .segpaint-swatch-none { background: repeating-linear-gradient(45deg, transparent 0 2px, #9e9e9e 2px 3px); }
.segpaint-annotator [hidden] { display: none !important; }
.segpaint-annotator .segpaint-resize { height: 8px; cursor: ns-resize; touch-action: none;
  background: linear-gradient(var(--jp-border-color1, #bdbdbd), var(--jp-border-color1, #bdbdbd)) center / 40px 2px no-repeat; }
.segpaint-annotator .segpaint-resize:hover { background-color: var(--jp-layout-color2, #eee); }
.segpaint-annotator .segpaint-help { position: absolute; z-index: 2; top: 8px; right: 8px; max-height: calc(100% - 16px);
  overflow: auto; padding: 6px 10px; background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color1, #222);
  border: 1px solid var(--jp-border-color1, #9e9e9e); border-radius: 4px; user-select: text; }
.segpaint-annotator .segpaint-help-head { display: flex; justify-content: space-between; gap: 12px; margin-bottom: 4px; }
.segpaint-annotator .segpaint-help td { padding: 1px 6px; vertical-align: top; }
.segpaint-annotator .segpaint-help kbd { font-family: var(--jp-code-font-family, monospace); padding: 0 3px;
  border: 1px solid var(--jp-border-color2, #ccc); border-radius: 3px; }
.segpaint-annotator .segpaint-progress { width: 120px; }
.segpaint-annotator .segpaint-range { position: relative; display: inline-block; width: 160px; height: 18px;
  vertical-align: middle; }
.segpaint-annotator .segpaint-range input[type=range] { position: absolute; left: 0; top: 0; width: 100%;
  height: 100%; margin: 0; }
.segpaint-annotator .segpaint-range input[data-control=contrast-lo] { pointer-events: none; z-index: 1;
  -webkit-appearance: none; appearance: none; background: transparent; }
.segpaint-annotator .segpaint-range input[data-control=contrast-lo]::-webkit-slider-runnable-track { background: transparent; }
.segpaint-annotator .segpaint-range input[data-control=contrast-lo]::-webkit-slider-thumb { pointer-events: auto; }
.segpaint-annotator .segpaint-range input[data-control=contrast-lo]::-moz-range-thumb { pointer-events: auto; }
.segpaint-annotator .segpaint-channel input[type=number] { width: 5.5em; }
.segpaint-annotator input[data-control=play-fps] { width: 3.5em; }
`;
