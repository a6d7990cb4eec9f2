// Live mode of the similar-noise figures (fig-similar-noise.js): the reader's own noise pairs, sampled by
// DDIM (eta 0, deterministic) in the browser.
//   patch_noise: n2 = n1 with one square (x, y, size) taken from n', dragged and resized on n1
//   mix_noise:   n2 = sqrt(1 − s²) n1 + s n', any s in [0, 1], any pair of seeds
// The numbers are those of generate/experiments/similar_noise/pairs.py: n1 and n' from randn.js (torch's
// CPU generator; n' is the generator's next draw), the heatmaps as generate/core/measure.py `heatmap`,
// the outputs clamped to [-1, 1] before measuring, so a live run at a precomputed cell remakes its
// frames and distances. The noise is made in the page (randn.js and sampler.js, loaded with this form when the reader opens
// live mode); only the two DDIM runs go to the worker, o1 once per seed.
import { NOISE_HEAT } from "./fig-similar-noise.js";
import { el, fmt, panel } from "./frames.js";
import * as Live from "./live-ui.js";
import { LiveBlock } from "./live-ui.js";
import { TorchGenerator } from "./live/randn.js";
import { toRGBA } from "./live/sampler.js";

const f32 = Math.fround;

const heatmap = Live.heatmap; // live-ui.js: measure.py's heatmap and distance

const clamp = (x) => x.map((v) => (v < -1 ? -1 : v > 1 ? 1 : v)); // pairs.py: out.clamp(-1, 1)

// One figure's live state: the model's shape, its DDIM step count, start noises and o1 per seed.
function pairModel(model) {
  const [C, H] = model.live.shape;
  const steps = model.steps || 50; // figure data before the step count was carried: the default grid's
  const noises = new Map(), outputs = new Map();
  return {
    C, size: H, steps, outputs,
    // n1 = randn(g) and n' = randn(g) again, g = torch.Generator().manual_seed(seed) (pairs.py noise_and_fresh)
    noise(seed) {
      if (!noises.has(seed)) {
        const g = new TorchGenerator(seed);
        noises.set(seed, { n1: g.randn(C * H * H), next: g.randn(C * H * H) });
      }
      return noises.get(seed);
    },
  };
}

// DDIM(x) in the worker for each start in turn, one progress bar over all; a start with a known
// output (o1 of a seed already sampled) is skipped. starts: [{x, known?, keep?(out)}].
function sampleEach(model, steps, starts, report) {
  let current = null, stopped = false;
  const total = starts.filter((s) => !s.known).length * steps;
  const done = (async () => {
    const outs = [];
    let calls = 0, offset = 0;
    for (const start of starts) {
      if (start.known) { outs.push(start.known); continue; }
      if (stopped) throw Object.assign(new Error("cancelled"), { name: "AbortError" });
      current = Live.run(model, { scheduler: "ddim", steps, seed: 0, x: start.x, keep: "final" }, {
        onStatus: report.onStatus,
        onStep: (step) => report.onStep(Object.assign({}, step, { done: offset + step.done, total })),
      });
      const answer = await current.done;
      const out = { x: clamp(answer.x), image: answer.image };
      if (start.keep) start.keep(out);
      outs.push(out);
      calls += answer.calls;
      offset += steps;
    }
    return { outs, calls };
  })();
  return { done, cancel() { stopped = true; if (current) current.cancel(); } };
}

// The six live panels (n1 n2 |n1 − n2| over o1 o2 |o1 − o2|) and both distances, into the result area.
function showPair(area, pm, pair, what) {
  const p = (caption) => panel(caption);
  const panels = { n1: p("n1 (live)"), n2: p("n2 (live)"), heat_noise: p(NOISE_HEAT.noise.caption), o1: p("o1 = DDIM(n1)"), o2: p("o2 = DDIM(n2)"), heat_out: p(NOISE_HEAT.output.caption) }; // as the figure's (fig-similar-noise.js)
  const noise = heatmap(pair.n1, pair.n2, pm.C, pm.size, pair.scales.noise);
  const out = heatmap(pair.o1.x, pair.o2.x, pm.C, pm.size, pair.scales.output);
  const rgba = (x) => toRGBA(x, pm.C, pm.size);
  const frames = { n1: rgba(pair.n1), n2: rgba(pair.n2), heat_noise: noise.rgba, o1: pair.o1.image, o2: pair.o2.image, heat_out: out.rgba };
  for (const [name, shown] of Object.entries(panels)) shown.drawPixels(frames[name], pm.size, `live: ${what}, ${name}`);
  const info = el("p", { class: "nti-info nti-live-distances",
    text: `noise distance ‖n1 − n2‖ = ${fmt(noise.distance, 2)} · output distance ‖o1 − o2‖ = ${fmt(out.distance, 2)}` });
  area.replaceChildren(Live.mark(what), el("div", { class: "nti-panels nti-live-panels nti-live-pairs" }, Object.values(panels).map((x) => x.el)), info);
  Object.assign(area.dataset, { noiseDistance: noise.distance, outputDistance: out.distance });
  return { noise: noise.distance, output: out.distance };
}

// Run both outputs of a pair: o1 (cached per seed) and o2.
function samplePair(model, pm, seed, n1, n2, report) {
  const known = pm.outputs.get(seed);
  return sampleEach(model, pm.steps, [{ x: n1, known, keep: (out) => pm.outputs.set(seed, out) }, { x: n2 }], report);
}

// The square on the noise: drag it to move it, drag its corner handle to resize it, or with the
// keyboard (arrows move; Shift+arrows or + and − resize) or the x, y, size fields. Pixels, integers.
function PatchEditor(size, onChange) {
  const canvas = el("canvas", { width: size, height: size, class: "nti-live-noise-canvas", "aria-hidden": "true" });
  const handle = el("span", { class: "nti-live-patch-handle", title: "Drag to resize" });
  const box = el("div", { class: "nti-live-patch", tabindex: 0, role: "group", "aria-roledescription": "movable patch" }, [handle]);
  const wrap = el("div", { class: "nti-live-patch-wrap" }, [canvas, box]);
  const fx = Live.numberField("x", { min: 0, max: size - 1, value: 0 });
  const fy = Live.numberField("y", { min: 0, max: size - 1, value: 0 });
  const fs = Live.numberField("Patch size", { min: 1, max: size, value: Math.max(1, size >> 2) });
  const state = { x: 0, y: 0, s: Math.max(1, size >> 2) };
  function set({ x = state.x, y = state.y, s = state.s }) {
    state.s = Math.min(size, Math.max(1, Math.round(s)));
    state.x = Math.min(size - state.s, Math.max(0, Math.round(x)));
    state.y = Math.min(size - state.s, Math.max(0, Math.round(y)));
    const pct = (v) => `${(v * 100) / size}%`;
    Object.assign(box.style, { left: pct(state.x), top: pct(state.y), width: pct(state.s), height: pct(state.s) });
    fx.set(state.x); fy.set(state.y); fs.set(state.s);
    box.setAttribute("aria-label", `Patch of ${state.s} × ${state.s} pixels at x ${state.x}, y ${state.y}. Arrow keys move it; Shift+arrows or + and − resize it.`);
    Object.assign(wrap.dataset, { x: state.x, y: state.y, size: state.s });
    onChange(state);
  }
  for (const [field, key] of [[fx, "x"], [fy, "y"], [fs, "s"]]) field.input.addEventListener("change", () => set({ [key]: field.value() }));
  // pointer position in image pixels
  const at = (event) => {
    const r = wrap.getBoundingClientRect();
    return [((event.clientX - r.left) / r.width) * size, ((event.clientY - r.top) / r.height) * size];
  };
  let drag = null; // { mode: "move"|"resize", dx, dy }
  wrap.addEventListener("pointerdown", (event) => {
    const [px, py] = at(event);
    if (event.target === handle) drag = { mode: "resize" };
    else {
      if (event.target !== box) set({ x: px - state.s / 2, y: py - state.s / 2 }); // a press beside the square brings it there
      drag = { mode: "move", dx: px - state.x, dy: py - state.y };
    }
    wrap.setPointerCapture(event.pointerId);
    box.focus();
    event.preventDefault();
  });
  wrap.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const [px, py] = at(event);
    if (drag.mode === "move") set({ x: px - drag.dx, y: py - drag.dy });
    else set({ s: Math.min(Math.max(px - state.x, py - state.y), size - Math.max(state.x, state.y)) });
  });
  const end = () => { drag = null; };
  wrap.addEventListener("pointerup", end);
  wrap.addEventListener("pointercancel", end);
  box.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    let next = null;
    if (moves[event.key] && event.shiftKey) next = { s: state.s + (event.key === "ArrowRight" || event.key === "ArrowDown" ? 1 : -1) };
    else if (moves[event.key]) next = { x: state.x + moves[event.key][0], y: state.y + moves[event.key][1] };
    else if (event.key === "+" || event.key === "=") next = { s: state.s + 1 };
    else if (event.key === "-" || event.key === "_") next = { s: state.s - 1 };
    if (!next) return;
    event.preventDefault();
    set(next);
  });
  const hint = el("p", { class: "nti-live-hint", text: "Drag the square, or its corner to resize it; with the keyboard: arrows move it, Shift+arrows or + and − resize it." });
  return {
    el: el("div", { class: "nti-live-patch-editor" }, [wrap, hint]), fields: [fx.el, fy.el, fs.el], state, set,
    draw(rgba) { canvas.getContext("2d").putImageData(new ImageData(rgba, size, size), 0, 0); },
  };
}

// Patch figure, live: any seed, any square. current() -> {seed, size, x, y}: the figure's cell, the
// form's start the first time the reader opens it.
function patch(model, { current }) {
  if (Live.problem(model)) return LiveBlock({ model });
  const pm = pairModel(model);
  const seed = Live.numberField("Seed", { min: 0, max: Live.MAX_SEED, value: 0 });
  const editor = PatchEditor(pm.size, () => {});
  let opened = false, job = null;
  const drawNoise = () => editor.draw(toRGBA(pm.noise(seed.value()).n1, pm.C, pm.size));
  seed.input.addEventListener("change", drawNoise);
  return LiveBlock({
    model, title: `Any seed, any square: n2 = n1 with the square taken from n′ (the seed's next draw), ${pm.steps} DDIM steps`,
    fields: [editor.el, seed.el, ...editor.fields],
    onOpen() {
      if (!opened) {
        const c = current();
        seed.set(c.seed);
        editor.set({ x: c.x, y: c.y, s: c.size });
        opened = true;
      }
      drawNoise();
    },
    start(report) {
      const { x, y, s } = editor.state;
      job = { seed: seed.value(), x, y, s };
      let inner = null, stopped = false;
      const done = Promise.resolve().then(() => {
        if (stopped) throw Object.assign(new Error("cancelled"), { name: "AbortError" });
        const { n1, next } = pm.noise(job.seed);
        const n2 = patched(n1, next, pm.C, pm.size, job);
        inner = samplePair(model, pm, job.seed, n1, n2, report);
        return inner.done.then((r) => Object.assign(r, { n1, n2 }));
      });
      return { done, cancel() { stopped = true; if (inner) inner.cancel(); } };
    },
    onResult(answer, area) {
      const what = `seed ${job.seed}, a ${job.s} × ${job.s} patch at (${job.x}, ${job.y}), ${pm.steps} DDIM steps on ${model.slug}`;
      showPair(area, pm, { n1: answer.n1, n2: answer.n2, o1: answer.outs[0], o2: answer.outs[1], scales: scales(model) }, what);
      Object.assign(area.dataset, { seed: job.seed, x: job.x, y: job.y, size: job.s });
    },
  });
}

// patch.py: n2 = n1, except the square [y, y + s) x [x, x + s) of every channel, which is n'.
function patched(n1, fresh, channels, size, { x, y, s }) {
  const n2 = Float32Array.from(n1);
  for (let c = 0; c < channels; c++)
    for (let row = y; row < y + s; row++) {
      const from = c * size * size + row * size + x;
      n2.set(fresh.subarray(from, from + s), from);
    }
  return n2;
}

// mix.py: n2 = sqrt(1 − s²) n1 + s n' in float32 (torch multiplies by the scalar cast to float32).
function mixed(n1, fresh, s) {
  const a = f32(Math.sqrt(1 - s * s)), b = f32(s);
  return n1.map((v, i) => f32(f32(a * v) + f32(b * fresh[i])));
}

const scales = (model) => ({ noise: (model.heat_scales && model.heat_scales.noise) || 2, output: (model.heat_scales && model.heat_scales.output) || 1 });

// The figure's s nearest 0.5: halfway between the same noise and a fresh one (0.5 without a grid).
const middleScale = (model) => (model.scales && model.scales.length
  ? model.scales.reduce((best, s) => (Math.abs(s - 0.5) < Math.abs(best - 0.5) ? s : best)) : 0.5);

// Mix figure, live: any s, any pair of seeds. onPoint({noise, output, ...}) adds the result to the
// figure's distance chart and returns a copy of that chart for the result area (the panel floats over
// the figure's); current() -> {seed} starts the form at the figure's seed, at the run's middle s.
function mix(model, { current, onPoint }) {
  if (Live.problem(model)) return LiveBlock({ model });
  const pm = pairModel(model);
  const seed1 = Live.numberField("Seed of n1", { min: 0, max: Live.MAX_SEED, value: 0 });
  const seed2 = Live.numberField("Seed of n′", { min: 0, max: Live.MAX_SEED, value: 0 });
  const scale = Live.numberField("Mixing scale s", { min: 0, max: 1, value: 0.5, step: 0.01 });
  const note = el("p", { class: "nti-live-hint", text: "Equal seeds: n′ is the next draw of that seed's generator, as in the figure. Different seeds: n′ is the other seed's start noise." });
  let opened = false, job = null;
  return LiveBlock({
    model, title: `Any s from 0 to 1, any pair of seeds: n2 = √(1 − s²) n1 + s n′, ${pm.steps} DDIM steps`,
    fields: [note, seed1.el, seed2.el, scale.el],
    onOpen() {
      if (opened) return;
      const c = current();
      // the figure's seed, and the run's middle s: the figure opens at s = 0 (n1 itself) and its
      // next s are barely changes, so starting there would show a trivial result
      seed1.set(c.seed); seed2.set(c.seed); scale.set(middleScale(model));
      opened = true;
    },
    start(report) {
      job = { seed: seed1.value(), other: seed2.value(), s: scale.value() };
      let inner = null, stopped = false;
      const done = Promise.resolve().then(() => {
        if (stopped) throw Object.assign(new Error("cancelled"), { name: "AbortError" });
        const { n1, next } = pm.noise(job.seed);
        const fresh = job.other === job.seed ? next : pm.noise(job.other).n1;
        const n2 = mixed(n1, fresh, job.s);
        inner = samplePair(model, pm, job.seed, n1, n2, report);
        return inner.done.then((r) => Object.assign(r, { n1, n2 }));
      });
      return { done, cancel() { stopped = true; if (inner) inner.cancel(); } };
    },
    onResult(answer, area) {
      const fresh = job.other === job.seed ? "n′ its next draw" : `n′ from seed ${job.other}`;
      const what = `seed ${job.seed}, ${fresh}, s = ${job.s.toFixed(2)}, ${pm.steps} DDIM steps on ${model.slug}`;
      const d = showPair(area, pm, { n1: answer.n1, n2: answer.n2, o1: answer.outs[0], o2: answer.outs[1], scales: scales(model) }, what);
      Object.assign(area.dataset, { seed: job.seed, other: job.other, scale: job.s });
      area.querySelector(".nti-live-distances").append(" · ◆ on the distance chart (below, and the figure's)");
      const chart = onPoint(Object.assign(d, job)); // the figure's chart with the new point marked
      if (chart) area.append(chart);
    },
  });
}

export const LiveSimilarNoise = { patch, mix, heatmap, VIRIDIS: Live.VIRIDIS };
