// Live mode's forms (loaded by live.js on the first "Try it live"): the client of the sampling worker
// (live/worker.js), the block a figure opens (form, Run / Cancel, progress, the result marked as
// computed in the reader's browser), its fields, and the reverse process's live form.
import { el, panel } from "./frames.js";
import { off, problem } from "./live.js";

export { problem };
import { Slider } from "./slider.js";
import { Picker } from "./widgets.js";

const WORKER = new URL("live/worker.js", import.meta.url).href;
export const MAX_SEED = 4294967295; // CPU generators keep 32 bits of a seed

let worker = null, nextId = 0;
const jobs = new Map(); // id -> { onStep, onStatus, resolve, reject }

function ensureWorker() {
  if (worker) return worker;
  worker = new Worker(WORKER, { type: "module" });
  worker.onmessage = (event) => {
    const message = event.data, job = jobs.get(message.id);
    if (!job) return;
    if (message.type === "step") job.onStep(message);
    else if (message.type === "loading") job.onStatus(message.what);
    else {
      jobs.delete(message.id);
      if (message.type === "done") job.resolve(message);
      else if (message.type === "cancelled") job.reject(Object.assign(new Error("cancelled"), { name: "AbortError" }));
      else job.reject(new Error(message.message || "live mode failed"));
    }
  };
  worker.onerror = (event) => {
    const error = new Error(event.message || "the live-mode worker failed to start");
    for (const job of jobs.values()) job.reject(error);
    jobs.clear();
    worker = null;
  };
  return worker;
}

// Sample in the worker. job: { scheduler, steps, seed, startIndex?, x?, image?, noiseSeed?, keep?,
// guidance?: { label, scale } }.
// Returns { done: Promise<result>, cancel() }; onStep gets each step as it is computed.
export function run(model, job, { onStep = () => {}, onStatus = () => {} } = {}) {
  const id = ++nextId;
  const done = new Promise((resolve, reject) => jobs.set(id, { onStep, onStatus, resolve, reject }));
  const live = model.live;
  ensureWorker().postMessage(Object.assign({
    type: "sample", id, graph: new URL(live.graph, model.dataUrl).href, config: live.scheduler_config,
    shape: live.shape, nullClass: live.null_class, keep: "final",
  }, job));
  return { id, done, cancel() { if (worker && jobs.has(id)) worker.postMessage({ type: "cancel", id }); } };
}

// A number field with its label; value() is the number typed, rounded to a multiple of `step`
// (whole numbers by default) and clamped to [min, max]; set(v) writes one.
export function numberField(label, { min, max, value, step = 1 }) {
  const id = `nti-live-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${++nextId}`;
  const decimals = step < 1 ? Math.max(0, -Math.floor(Math.log10(step))) : 0;
  const input = el("input", { id, type: "number", min, max, step, value, inputmode: decimals ? "decimal" : "numeric" });
  const field = el("div", { class: "nti-live-field" }, [el("label", { for: id, text: label }), input]);
  const clean = (raw) => {
    const n = Number((Math.round(Number(raw) / step) * step).toFixed(decimals));
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : value;
  };
  return {
    el: field, input,
    value() {
      const v = clean(input.value);
      input.value = String(v);
      return v;
    },
    set(v) { input.value = String(clean(v)); },
  };
}

// The live part of a figure: a "Try it live" button among the figure's controls, opening a panel
// that floats over the figure (the pinned figure keeps its size; nothing below it moves) with the
// form (its fields, Run / Cancel), a status line with progress, and the result, marked as computed
// in the reader's browser. Escape or the close button folds it; a run goes on while folded.
// options: { model, title, fields: [el], start(report) -> {done, cancel}, onStep(step, area), onResult(answer, area), onOpen() }
// onOpen: called each time the panel opens (a figure loads what its form needs then, not with the page).
export function LiveBlock({ model, title, fields, start, onStep = () => {}, onResult, onOpen = () => {} }) {
  const why = problem(model);
  if (why) return off(why);
  const bodyId = `nti-live-body-${++nextId}`;
  const toggle = el("button", { type: "button", class: "nti-button nti-live-toggle", "aria-expanded": "false", "aria-controls": bodyId, text: "Try it live" });
  const close = el("button", { type: "button", class: "nti-button nti-live-close", "aria-label": "Close live mode", text: "×" });
  const runButton = el("button", { type: "submit", class: "nti-button nti-live-run", text: "Run" });
  const cancelButton = el("button", { type: "button", class: "nti-button nti-live-cancel", hidden: true, text: "Cancel" });
  const progress = el("progress", { class: "nti-live-progress", max: 1, value: 0, hidden: true, "aria-label": "Live sampling progress" });
  const status = el("p", { class: "nti-live-status", role: "status", "aria-live": "polite" });
  // novalidate: the fields round and clamp what is typed (value()), so 0.375 in a field of step 0.01
  // runs at 0.38 instead of the browser silently refusing to submit
  const form = el("form", { class: "nti-live-form", "aria-label": title, novalidate: true },
    [el("div", { class: "nti-live-fields" }, [...fields, runButton, cancelButton]), progress, status]);
  const result = el("div", { class: "nti-live-result", hidden: true });
  const body = el("div", { class: "nti-live-body", id: bodyId, role: "region", "aria-label": `Live mode: ${title}`, hidden: true },
    [el("div", { class: "nti-live-top" }, [el("p", { class: "nti-live-title", text: title }), close]), form, result]);
  const root = el("div", { class: "nti-live" }, [toggle, body]);
  const open = (yes) => {
    body.hidden = !yes;
    toggle.setAttribute("aria-expanded", String(yes));
    toggle.classList.toggle("nti-live-open", yes);
    if (yes) onOpen();
  };
  toggle.addEventListener("click", () => { open(body.hidden); if (!body.hidden) runButton.focus(); });
  close.addEventListener("click", () => { open(false); toggle.focus(); });
  body.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.stopPropagation(); open(false); toggle.focus(); } });
  let running = null;
  const finish = () => { running = null; runButton.disabled = false; cancelButton.hidden = true; progress.hidden = true; };
  cancelButton.addEventListener("click", () => { if (running) running.cancel(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (running) return;
    const began = performance.now();
    let sampling = began; // when the model was ready and the first step began
    const callMs = []; // each network call's time: the result reports their median, not a total
    runButton.disabled = true;
    cancelButton.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = "Loading the model and ONNX Runtime (the first time only; your browser keeps them)…";
    root.dataset.state = "running";
    running = start({
      onStatus(what) { if (what === "sampling") { sampling = performance.now(); status.textContent = "Sampling…"; } },
      onStep(step) {
        progress.value = step.done / Math.max(1, step.total);
        if (Number.isFinite(step.ms)) callMs.push(step.ms);
        // time left from the mean call so far: a slow device (an old phone) shows it at once, and Cancel is beside it
        const mean = (performance.now() - sampling) / step.done, left = (step.total - step.done) * mean / 1000;
        status.textContent = `Step ${step.done} of ${step.total}: timestep t = ${step.t} (${Math.round(step.ms)} ms this call` +
          (step.done >= 2 && left >= 1 ? `, about ${left < 10 ? left.toFixed(1) : Math.round(left)} s left)` : ")");
        result.hidden = false;
        onStep(step, result);
      },
    });
    running.done.then((answer) => {
      finish();
      root.dataset.state = "done";
      const seconds = ((performance.now() - began) / 1000).toFixed(1);
      const sorted = callMs.slice().sort((a, b) => a - b), median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null;
      status.textContent = `Done: ${answer.calls} network call${answer.calls === 1 ? "" : "s"} in WebAssembly on this device` +
        (median !== null ? `, a median ${Math.round(median)} ms a call (${seconds} s in all, loading included).` : ` (${seconds} s in all).`);
      result.hidden = false;
      onResult(answer, result);
    }, (error) => {
      finish();
      root.dataset.state = error.name === "AbortError" ? "cancelled" : "error";
      status.textContent = error.name === "AbortError" ? "Cancelled." : `Live mode failed: ${error.message}`;
      if (error.name !== "AbortError") console.warn(error);
    });
  });
  return { el: root, available: true, result, open, cancel() { if (running) running.cancel(); } };
}

// measure.py VIRIDIS: matplotlib's viridis at 9 stops, np.interp'd at np.linspace(0, 8, 256), rounded
// half to even as numpy rounds; 256 x 3 bytes, flat. Shared by every live heatmap (live-forward-backward.js, live-similar-noise.js).
const STOPS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
const roundEven = (v) => { const r = Math.round(v); return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; };
export const VIRIDIS = new Uint8Array(256 * 3);
for (let i = 0; i < 256; i++) {
  const x = i === 255 ? 8 : i * (8 / 255), k = Math.min(7, Math.floor(x));
  for (let c = 0; c < 3; c++) VIRIDIS[i * 3 + c] = roundEven((STOPS[k + 1][c] - STOPS[k][c]) * (x - k) + STOPS[k][c]);
}
const f32 = Math.fround;

// measure.py `heatmap`: |a − b| averaged over channels (float32: summed, then divided), 0 -> dark,
// `scale` -> bright, as RGBA; and the Euclidean distance ‖a − b‖₂.
export function heatmap(a, b, channels, size, scale) {
  const plane = size * size, rgba = new Uint8ClampedArray(plane * 4);
  let squares = 0;
  for (let p = 0; p < plane; p++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const d = f32(a[c * plane + p] - b[c * plane + p]);
      squares += d * d;
      sum = f32(sum + Math.abs(d));
    }
    const index = Math.min(255, Math.max(0, roundEven(f32(f32(f32(sum / channels) / scale) * 255))));
    rgba.set(VIRIDIS.subarray(index * 3, index * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  return { rgba, distance: Math.sqrt(squares) };
}
// The mark every live result carries: what was computed where.
export const mark = (text) => el("p", { class: "nti-live-mark", text: `Computed live in your browser: ${text}` });

// Sampler choice of a live form: DDIM (eta 0, deterministic) or DDPM (fresh noise each step).
export function samplerField(start) {
  const picker = Picker({ label: "Sampler", options: [{ text: "DDIM", title: "deterministic (eta = 0)" }, { text: "DDPM", title: "fresh noise at every step" }], value: start === "ddpm" ? 1 : 0, onChange: () => {} });
  return { el: picker.el, value: () => (picker.select.value === "1" ? "ddpm" : "ddim") };
}

// Reverse process and step counts, live: any seed, any number of steps, DDIM or DDPM. The result
// is the figure's four panels again (xₜ, ε̂, x̂₀, next xₜ) with a step slider of its own.
export function LiveReverse(model) {
  const live = model.live || {};
  const T = (live.scheduler_config && live.scheduler_config.num_train_timesteps) || 1000;
  const seed = numberField("Seed", { min: 0, max: MAX_SEED, value: 0 });
  const steps = numberField("Steps", { min: 1, max: T, value: model.steps && model.steps <= T ? model.steps : 50 });
  // the figure's own sampler first: seed 0 live then remakes the precomputed trajectory
  const own = /DDPM/.test(model.scheduler || "") ? "ddpm" : /DDIM/.test(model.scheduler || "") ? "ddim" : live.start;
  const sampler = samplerField(own);
  const size = live.shape ? live.shape[1] : model.size;
  let frames = [], job = null, panels = null, info = null;
  const name = (key, i) => `live: ${model.slug}, seed ${job.seed}, ${job.steps} ${job.scheduler.toUpperCase()} steps, step ${i + 1}, ${key}`;
  function draw(i) {
    const f = frames[i];
    for (const key of Object.keys(panels)) panels[key].drawPixels(f.frames[key], size, name(key, i));
    info.textContent = `step ${i + 1} of ${job.steps}: timestep t = ${f.t}`;
  }
  return LiveBlock({
    model, title: `Any seed, any number of steps (1 to ${T}), DDIM or DDPM`,
    fields: [seed.el, steps.el, sampler.el],
    start(report) {
      frames = [];
      job = { seed: seed.value(), steps: steps.value(), scheduler: sampler.value(), keep: "all" };
      panels = { x: panel("xₜ: the input"), eps: panel("ε̂: predicted noise"), x0: panel("x̂₀: predicted clean image"), next: panel("next xₜ: scheduler output") };
      info = el("p", { class: "nti-info", "aria-live": "off" });
      return run(model, job, { onStatus: report.onStatus, onStep(step) { frames[step.index] = step; report.onStep(step); } });
    },
    onStep(step, area) {
      if (step.done === 1) {
        area.replaceChildren(mark(`seed ${job.seed}, ${job.steps} ${job.scheduler.toUpperCase()} step${job.steps === 1 ? "" : "s"} on ${model.slug}`),
          el("div", { class: "nti-panels nti-live-panels" }, Object.values(panels).map((p) => p.el)), info);
      }
      draw(step.index);
    },
    onResult(answer, area) {
      const last = frames.length - 1;
      const slider = Slider({ label: "Live sampling step", min: 0, max: last, value: last, text: (i) => `step ${i + 1} of ${job.steps}, timestep ${frames[i].t}`, onChange: draw });
      area.append(el("div", { class: "nti-controls" }, [slider.el]));
      Object.assign(area.dataset, { seed: job.seed, steps: job.steps, scheduler: job.scheduler });
      draw(last);
    },
  });
}
