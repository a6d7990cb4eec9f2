// Live mode on the page, the part every page loads: whether a figure's model can run live here, and
// the "Try it live" button that loads the rest (live-ui.js: the forms, the worker's client; plus a
// figure's own form, e.g. live-forward-backward.js) when the reader first presses it. The worker, ONNX Runtime Web
// and the model's graph follow on the first Run (the browser caches them after that). Where live
// mode cannot run, the figure says why in one line and the precomputed figure works as before.
import { el } from "./frames.js";

// A module with one SIMD instruction: ONNX Runtime's WebAssembly build needs SIMD (wasm-feature-detect's probe).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

function browserProblem() {
  if (typeof Worker !== "function") return "this browser cannot run background workers";
  if (typeof WebAssembly !== "object" || !WebAssembly.validate) return "this browser has no WebAssembly";
  try { if (!WebAssembly.validate(SIMD_PROBE)) return "this browser's WebAssembly has no SIMD"; } catch (error) { return "this browser's WebAssembly has no SIMD"; }
  return null;
}

// Why live mode cannot run this figure's model here, or null when it can.
export function problem(model) {
  if (!model.live) return "live mode is not part of this build";
  if (!model.live.available) return model.live.why;
  return browserProblem();
}

// The one line a figure shows where live mode cannot run.
export function off(why) {
  return { el: el("p", { class: "nti-live-off", text: `Live mode unavailable: ${why}.` }), available: false, cancel() {} };
}

// A figure's live block whose code loads only when the reader first presses "Try it live": until then
// the figure holds a button and nothing else, so the live forms cost the page nothing. `build()`
// imports the forms (live-ui.js, and e.g. live-forward-backward.js) and returns the real block.
// `calls` names the block's methods the figure may call before that (e.g. setLevel): the last call of
// each is kept and replayed on the real block; where live mode cannot run they do nothing. Any other
// name is not there, so a misspelt call fails loudly.
export function lazy(model, build, calls = []) {
  const why = problem(model);
  if (why) return Object.assign(off(why), Object.fromEntries(calls.map((name) => [name, () => {}])));
  let real = null;
  const pending = new Map();
  const toggle = el("button", { type: "button", class: "nti-button nti-live-toggle", "aria-expanded": "false", text: "Try it live" });
  const holder = el("div", { class: "nti-live" }, [toggle]);
  toggle.addEventListener("click", () => {
    toggle.disabled = true;
    build().then((made) => {
      real = made;
      for (const [name, args] of pending) real[name](...args);
      holder.replaceWith(real.el);
      if (real.open) { real.open(true); real.el.querySelector(".nti-live-run").focus(); }
    }, (error) => {
      toggle.disabled = false;
      toggle.textContent = "Try it live (failed to load; again?)";
      console.warn(error);
    });
  });
  const block = { el: holder, available: true, cancel() { if (real) real.cancel(); } };
  for (const name of calls) block[name] = (...args) => (real ? real[name](...args) : pending.set(name, args));
  return block;
}
