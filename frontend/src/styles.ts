// The dashboard's stylesheet, injected as a <style> element (TensorBoard's CSP allows styles, not inline scripts).

export const CSS = `
:root { color-scheme: light; --bg: #ffffff; --fg: #1f2933; --muted: #5f6b7a; --card: #f5f7f5; --border: #d9e0da;
  --accent: #2e7d32; --error-bg: #fdecea; --error-fg: #8a1c13; }
:root[data-theme="dark"] { color-scheme: dark; --bg: #1b1e1c; --fg: #e6ebe7; --muted: #9aa59c; --card: #252a26;
  --border: #3a423c; --accent: #81c784; --error-bg: #4a1f1b; --error-fg: #ffd1cc; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 Roboto, "Helvetica Neue", Arial, sans-serif; }
.layout { display: grid; grid-template-columns: 260px 1fr; min-height: 100vh; }
aside { border-right: 1px solid var(--border); padding: 12px; overflow: auto; }
main { padding: 12px 16px 32px; min-width: 0; }
h1 { font-size: 18px; margin: 0 0 8px; color: var(--accent); }
h2 { font-size: 15px; margin: 20px 0 8px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin-bottom: 8px; }
.toolbar label { display: inline-flex; gap: 4px; align-items: center; }
input[type="search"] { width: 100%; padding: 4px 6px; margin: 6px 0; background: var(--card); color: var(--fg);
  border: 1px solid var(--border); border-radius: 4px; }
select, button { background: var(--card); color: var(--fg); border: 1px solid var(--border); border-radius: 4px; padding: 3px 8px; }
button { cursor: pointer; }
.runlist { list-style: none; margin: 0; padding: 0; }
.runlist li label { display: flex; gap: 6px; align-items: flex-start; padding: 2px 0; word-break: break-all; }
.status { padding: 8px 12px; border-radius: 4px; margin: 8px 0; background: var(--card); }
.status.error { background: var(--error-bg); color: var(--error-fg); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 500; }
.muted, .note { color: var(--muted); font-size: 12px; }
.chart { width: 100%; height: 300px; }
.chart.small { height: 240px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--border); padding: 4px 8px; text-align: right; }
table.data th:first-child, table.data td:first-child, table.data td.text { text-align: left; word-break: break-all; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; border: 1px solid var(--border); }
.badge.measured { color: var(--accent); border-color: var(--accent); }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } .grid2 { grid-template-columns: 1fr; } }
`;
