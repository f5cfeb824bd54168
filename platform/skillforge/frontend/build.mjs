// Builds ../static/skillforge/editor.js (one minified file, no runtime dependency) and
// ../static/skillforge/editor.LICENSES.txt (the licence of every package inside it).
//   npm ci && npm run build      (CI does not need this: the built files are committed)
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const out = new URL("../static/skillforge/", import.meta.url).pathname;
const result = await build({
  entryPoints: ["src/editor.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  metafile: true,
  outfile: join(out, "editor.js"),
  banner: { js: "/* SkillForge editor: CodeMirror 6 (MIT), built by platform/skillforge/frontend/build.mjs; licences in editor.LICENSES.txt */" },
});

// axe-core for the browser tests' accessibility checks (tests/e2e/vendor/, not served by the site).
const vendor = new URL("../../../tests/e2e/vendor/", import.meta.url).pathname;
mkdirSync(vendor, { recursive: true });
copyFileSync("node_modules/axe-core/axe.min.js", join(vendor, "axe.min.js"));
const axeMeta = JSON.parse(readFileSync("node_modules/axe-core/package.json", "utf8"));
writeFileSync(join(vendor, "axe.LICENSE.txt"),
  `axe-core ${axeMeta.version} (${axeMeta.license}), from the npm registry; source: https://github.com/dequelabs/axe-core\n\n` +
  readFileSync("node_modules/axe-core/LICENSE", "utf8"));

// Every package a bundled file came from, with its licence text.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!match || packages.has(match[1])) continue;
  const dir = join("node_modules", match[1]);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"].map((n) => join(dir, n)).find(existsSync);
  packages.set(match[1], { version: meta.version, license: meta.license, text: file ? readFileSync(file, "utf8") : "" });
}
const lines = ["Packages bundled in editor.js (from the npm registry, versions pinned by package-lock.json):", ""];
for (const [name, p] of [...packages].sort()) lines.push(`${name} ${p.version} (${p.license})`);
for (const [name, p] of [...packages].sort()) lines.push("", "=".repeat(72), `${name} ${p.version}`, "=".repeat(72), p.text.trim());
writeFileSync(join(out, "editor.LICENSES.txt"), lines.join("\n") + "\n");
const bytes = readFileSync(join(out, "editor.js")).length;
console.log(`editor.js: ${bytes} bytes from ${packages.size} packages`);
