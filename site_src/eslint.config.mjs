// eslint (flat config) for the site's scripts: `make lint`, part of `make test`.
// They are classic scripts sharing one global, window.NTI (see ARCHITECTURE.md), plus a module
// worker for live mode; the browser's globals and ONNX Runtime Web's `ort` are known here.
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
      sourceType: "script",
      globals: { ...globals.browser, ort: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
    },
  },
  {
    files: ["assets/js/live/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser, ...globals.worker, ort: "readonly" } },
  },
];
