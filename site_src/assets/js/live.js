// Live mode on the page, the part every page loads: whether a figure's model can run live here, and
// the "Try it live" button that loads the rest (live-ui.js: the forms, the worker's client; plus a
// figure's own form, e.g. live-forward-backward.js) when the reader first presses it. The worker, ONNX Runtime Web
// and the model's graph follow on the first Run (the browser caches them after that). Where live
// mode cannot run, the figure says why in one line and the precomputed figure works as before.
(function (NTI) {
  "use strict";
  const HERE = document.currentScript ? document.currentScript.src : window.location.href;
  // A module with one SIMD instruction: ONNX Runtime's WebAssembly build needs SIMD (wasm-feature-detect's probe).
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

  function browserProblem() {
    if (typeof Worker !== "function") return "this browser cannot run background workers";
    if (typeof WebAssembly !== "object" || !WebAssembly.validate) return "this browser has no WebAssembly";
    try { if (!WebAssembly.validate(SIMD_PROBE)) return "this browser's WebAssembly has no SIMD"; } catch (error) { return "this browser's WebAssembly has no SIMD"; }
    return null;
  }

  // A script of this folder (a path relative to live.js), loaded once, on first use.
  const loaded = new Map();
  function loadScript(name) {
    if (!loaded.has(name)) {
      loaded.set(name, new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = new URL(name, HERE).href;
        script.onload = resolve;
        script.onerror = () => { loaded.delete(name); reject(new Error(`${name} did not load`)); };
        document.head.append(script);
      }));
    }
    return loaded.get(name);
  }
  NTI.Live = {
    HERE,
    load: loadScript,
    // Why live mode cannot run this figure's model here, or null when it can.
    problem(model) {
      if (!model.live) return "live mode is not part of this build";
      if (!model.live.available) return model.live.why;
      return browserProblem();
    },
    // The one line a figure shows where live mode cannot run.
    off(problem) {
      const el = NTI.el("p", { class: "nti-live-off", text: `Live mode unavailable: ${problem}.` });
      return { el, available: false, cancel() {} };
    },
  };

  // A figure's live block whose code (`scripts`, in order: live-ui.js, then e.g. live-forward-backward.js) loads
  // only when the reader first presses "Try it live": until then the figure holds a button and
  // nothing else, so the live forms cost the page nothing. `build()` makes the real block once the script is in; calls made to the
  // block before that (setLevel, ...) are kept, the last of each, and replayed on it.
  NTI.Live.lazy = function (model, scripts, build) {
    const problem = NTI.Live.problem(model);
    // where live mode cannot run: the one line, and the figure's calls (setLevel, ...) do nothing
    if (problem) return new Proxy(NTI.Live.off(problem), { get: (off, name) => (name in off || typeof name !== "string" || name === "then" ? off[name] : () => {}) });
    let real = null;
    const pending = new Map();
    const toggle = NTI.el("button", { type: "button", class: "nti-button nti-live-toggle", "aria-expanded": "false", text: "Try it live" });
    const el = NTI.el("div", { class: "nti-live" }, [toggle]);
    toggle.addEventListener("click", () => {
      toggle.disabled = true;
      scripts.reduce((chain, name) => chain.then(() => loadScript(name)), Promise.resolve()).then(() => {
        real = build();
        for (const [name, args] of pending) real[name](...args);
        el.replaceWith(real.el);
        if (real.open) { real.open(true); real.el.querySelector(".nti-live-run").focus(); }
      }, (error) => {
        toggle.disabled = false;
        toggle.textContent = "Try it live (failed to load; again?)";
        console.warn(error);
      });
    });
    const block = { el, available: true, cancel() { if (real) real.cancel(); } };
    return new Proxy(block, {
      get(target, name) {
        if (real) return typeof real[name] === "function" ? real[name].bind(real) : real[name];
        if (name in target || typeof name !== "string" || name === "then") return target[name];
        return (...args) => { pending.set(name, args); };
      },
    });
  };

})(window.NTI);
