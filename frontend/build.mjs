// Bundle the Green tab into the Python package's static folder as one ES module.
// Usage: node build.mjs [--outdir DIR]   (default: ../greenops_tb/plugin/static)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf("--outdir");
const outdir = i > 0 ? path.resolve(process.argv[i + 1]) : path.resolve(here, "../greenops_tb/plugin/static");

await build({
  entryPoints: [path.join(here, "src/index.ts")],
  outfile: path.join(outdir, "index.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  legalComments: "linked",
  logLevel: "info",
});
