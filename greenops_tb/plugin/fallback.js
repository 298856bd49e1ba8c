// The Green tab's module when the dashboard bundle (static/index.js) was not built, e.g. after an install with
// GREENOPS_SKIP_FRONTEND=1 or without Node.js: it says why the dashboard is missing and how to build it.
// Plain DOM, no dependencies; the plugin serves it in place of the missing bundle.
const LINES = [
  ["h2", "The Green tab's dashboard is not installed"],
  ["p", "greenops_tb was installed without its JavaScript bundle (greenops_tb/plugin/static/index.js), " +
        "for example with GREENOPS_SKIP_FRONTEND=1 or on a machine without Node.js. " +
        "Your runs' data is all there: the event files and green.csv are complete."],
  ["p", "To get the dashboard, install Node.js >= 20 and npm, then reinstall greenops_tb (pip install . in a checkout), " +
        "or build the bundle in place:"],
  ["pre", "npm --prefix frontend ci && npm --prefix frontend run build"],
  ["p", "and restart TensorBoard. Meanwhile the same numbers are in the terminal:"],
  ["pre", "greenops-tb summary LOGDIR"],
];

export function render() {
  const root = document.createElement("div");
  root.dataset.testid = "no-bundle";
  root.style.font = "14px/1.5 system-ui, sans-serif";
  root.style.maxWidth = "52em";
  root.style.padding = "1em 2em";
  for (const [tag, text] of LINES) {
    const el = document.createElement(tag);
    el.textContent = text;
    root.appendChild(el);
  }
  document.body.replaceChildren(root);
  document.body.dataset.state = "no-bundle";
}
