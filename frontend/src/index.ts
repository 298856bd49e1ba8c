// Entry point TensorBoard loads in the plugin iframe: `import("./static/index.js").then((m) => m.render())`.

import { GreenApp } from "./app";

export function render(): void {
  const root = document.createElement("div");
  document.body.append(root);
  new GreenApp(root).mount();
}
