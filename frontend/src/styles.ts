// The dashboard's stylesheet, injected as a <style> element (TensorBoard's CSP allows styles, not inline scripts).

/** Colours of runs (stage bars and the table's run swatches), in selection order. */
export const RUN_COLORS = ["#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#546e7a"];

const swatches = RUN_COLORS.map((c, i) => `.swatch[data-color="${i}"] { background: ${c}; }`).join("\n");

export const CSS = `
:root { color-scheme: light; --bg: #ffffff; --fg: #1f2933; --muted: #5f6b7a; --card: #f6f8f6; --border: #dde3de;
  --row: #fafbfa; --accent: #2e7d32; --error-bg: #fdecea; --error-fg: #8a1c13; }
:root[data-theme="dark"] { color-scheme: dark; --bg: #1b1e1c; --fg: #e6ebe7; --muted: #9aa59c; --card: #242924;
  --border: #3a423c; --row: #202420; --accent: #81c784; --error-bg: #4a1f1b; --error-fg: #ffd1cc; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 Roboto, "Helvetica Neue", Arial, sans-serif; }
.layout { display: grid; grid-template-columns: 240px 1fr; min-height: 100vh; }
aside { border-right: 1px solid var(--border); padding: 14px 12px; overflow: auto; }
main { padding: 12px 20px 32px; min-width: 0; max-width: 1500px; }
h1 { font-size: 18px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 16px; font-weight: 500; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 13px; font-weight: 500; color: var(--muted); margin: 16px 0 4px; }
section:first-child h2 { margin-top: 12px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin-bottom: 8px; }
.toolbar label { display: inline-flex; gap: 6px; align-items: center; color: var(--muted); }
input[type="search"] { width: 100%; padding: 5px 8px; margin: 8px 0; background: var(--card); color: var(--fg);
  border: 1px solid var(--border); border-radius: 4px; }
select, button { background: var(--card); color: var(--fg); border: 1px solid var(--border); border-radius: 4px; padding: 3px 8px;
  font: inherit; }
button { cursor: pointer; }
button:hover, select:hover { border-color: var(--accent); }
.switch { display: inline-flex; margin: 0 0 6px; }
.switch button { border-radius: 0; font-size: 12px; padding: 2px 10px; }
.switch button:first-child { border-radius: 4px 0 0 4px; }
.switch button:last-child { border-radius: 0 4px 4px 0; border-left: none; }
.switch button[aria-pressed="true"] { background: var(--accent); color: var(--bg); border-color: var(--accent); }
.runlist { list-style: none; margin: 8px 0 0; padding: 0; }
.runlist li label { display: flex; gap: 6px; align-items: flex-start; padding: 3px 0; word-break: break-all; }
.status { padding: 10px 14px; border-radius: 4px; margin: 8px 0; background: var(--card); border: 1px solid var(--border); }
.status.error { background: var(--error-bg); color: var(--error-fg); border-color: transparent; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 500; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card .value .unit { font-size: 14px; font-weight: 400; color: var(--muted); }
.equivalents { margin: 8px 0 2px; }
.muted, .note { color: var(--muted); font-size: 12px; }
.chart { width: 100%; height: 320px; }
.chart.main { height: 360px; }
.heading { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 22px 0 8px;
  border-bottom: 1px solid var(--border); padding-bottom: 4px; }
.heading h2 { margin: 0 auto 0 0; padding: 0; border: none; }
.heading .switch { margin: 0; }
details.fold { margin-top: 24px; border-top: 1px solid var(--border); }
details.fold > summary { cursor: pointer; list-style: none; padding: 10px 0 4px; }
details.fold > summary::-webkit-details-marker { display: none; }
details.fold > summary h2 { display: inline; margin: 0; padding: 0; border: none; }
details.fold > summary h2::before { content: "▸ "; color: var(--muted); }
details.fold[open] > summary h2::before { content: "▾ "; }
details.fold > summary .cards { margin-top: 10px; }
.hint { color: var(--muted); font-size: 12px; margin-left: 10px; }
.chart.small { height: 240px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
table.data th { color: var(--muted); font-weight: 500; font-size: 12px; border-bottom: 2px solid var(--border); }
table.data th, table.data td { border-bottom: 1px solid var(--border); padding: 5px 10px; text-align: right; white-space: nowrap; }
table.data tbody tr:nth-child(even) { background: var(--row); }
table.data .text { text-align: left; white-space: normal; word-break: break-word; }
.stage.depth-1 { padding-left: 1.2em; } .stage.depth-2 { padding-left: 2.4em; } .stage.depth-3 { padding-left: 3.6em; }
.stage.depth-1::before, .stage.depth-2::before, .stage.depth-3::before { content: "↳ "; color: var(--muted); }
.run-cell { display: inline-flex; gap: 6px; align-items: center; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; flex: none; }
${swatches}
.mine { font-weight: 600; color: var(--accent); }
.cards.efficiency { margin-top: 10px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; border: 1px solid var(--border); }
.badge.measured { color: var(--accent); border-color: var(--accent); }
.badge.differ { color: #c62828; border-color: #c62828; }
.provenance h3 { color: var(--fg); font-size: 14px; }
.grid2 { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 16px; align-items: start; }
.grid2.even { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px 24px; }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } .grid2 { grid-template-columns: 1fr; } }
`;
