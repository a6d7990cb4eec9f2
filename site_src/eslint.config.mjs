// eslint (flat config) for the site's scripts: `make lint`, part of `make test`.
// They are ES modules (the page's, and live mode's module worker); the browser's globals and ONNX
// Runtime Web's `ort` are known here. An import shadowed by a local name is an error (no-shadow).
// Its packages are pinned in package.json beside it and installed outside the sources, in
// .cache/npm (make npm-dev), so they are looked up there.
import { createRequire } from "node:module";

const require = createRequire(new URL("../.cache/npm/package.json", import.meta.url));
const js = require("@eslint/js");
const globals = require("globals");

export default [
  js.configs.recommended,
  {
    files: ["assets/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ort: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      "no-shadow": ["error", { hoist: "all" }],
    },
  },
  {
    files: ["assets/js/live/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser, ...globals.worker, ort: "readonly" } },
  },
];
