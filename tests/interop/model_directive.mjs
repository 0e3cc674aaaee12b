// OpenClaw 2026.9.6's own answer to `/model RAW` for a config file: its config materialisation (which
// activates the built-in aliases), its alias index and its directive selection, from the installed
// package's bundled modules. Prints the selection as JSON. Used by tests/interop_aliases.rs.
// Usage: OC_DIST=<openclaw>/dist node model_directive.mjs <openclaw.json> <raw>
const dist = process.env.OC_DIST;
const [cfgPath, raw] = process.argv.slice(2);
const fs = await import("node:fs");
const path = await import("node:path");
// The bundled modules carry a content hash in their names: find them by their stem.
const named = (stem) => {
  const file = fs.readdirSync(dist).find((f) => f.startsWith(stem + "-") && f.endsWith(".mjs"));
  if (!file) throw new Error(`no ${stem}-*.mjs in ${dist}`);
  return import(path.join(dist, file));
};
const validation = await named("validation-core");
const defaults = await named("directive-handling.defaults");
const directive = await named("model-selection-directive");
const cfg = validation.p(JSON.parse(fs.readFileSync(cfgPath, "utf8")));
const { defaultProvider, defaultModel, aliasIndex } = defaults.t({ cfg, agentId: "main" });
const answer = directive.t({ raw, defaultProvider, defaultModel, aliasIndex, allowedModelKeys: new Set(), cfg, agentId: "main" });
console.log(JSON.stringify(answer));
