// Forward then backward, live (issue 14): the reader's own image (the model's sample on show, a
// drawing, or a picture from their disk: read in the page, never uploaded) noised to any start level
// and denoised back in the browser, with its reconstruction, difference heatmap and distance.
//
// Exactness: with the model's sample, the figure's sampler and a precomputed level, a live run draws
// the very numbers the precompute drew (figure data `live_noise`: the forward noise eps_k is row k of
// randn((T, C, H, W)) of manual_seed(seed); DDPM's steps of level k draw from manual_seed(ddpm_seeds[k]))
// and so remakes the precomputed row of that level (tests/test_browser_live_forward_backward.py measures how closely).
//
//   source (sample | drawing | file) -> 8-bit RGBA, size x size -> x_0 (from_uint8) --worker-->
//   x_{t_k} = add_noise(x_0, eps_k, t_k) -> n - k steps -> reconstruction -> |recon - x_0|, distance
import { fbDiffBar } from "./fig-forward-backward.js";
import { el, fmt, panel } from "./frames.js";
import * as Live from "./live-ui.js";
import { LiveBlock } from "./live-ui.js";
import { Slider } from "./slider.js";
import { Picker } from "./widgets.js";

const PAD = 192; // the drawing pad's side in pixels (CSS and canvas)
const BRUSH = 14; // brush diameter on the pad: about 2.3 pixels of a 32-px model

const f32 = Math.fround;

// RGBA bytes -> x_0 as sampling.py `from_uint8` reads a frame: v / 127.5 - 1 in float32, channel-major
// (C, H, W). A grey model takes channel R (the pixels are grey already: see greyed).
function toFloats(rgba, channels, size) {
  const plane = size * size, out = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) out[c * plane + p] = f32(f32(rgba[p * 4 + c] / 127.5) - 1);
  }
  return out;
}

// For a grey model, what it will see: PIL's convert("L") luminance (integer ITU-R 601) in R, G and B.
function greyed(rgba) {
  for (let p = 0; p < rgba.length; p += 4) {
    const l = (rgba[p] * 19595 + rgba[p + 1] * 38470 + rgba[p + 2] * 7471 + 0x8000) >> 16;
    rgba[p] = rgba[p + 1] = rgba[p + 2] = l;
    rgba[p + 3] = 255;
  }
  return rgba;
}

const heatmap = Live.heatmap; // live-ui.js: measure.py's heatmap and distance

// The pixels of one frame of the figure's sprite sheets, from the exact sheet (never its preview).
async function framePixels(model, ref) {
  const sheet = model.sheets[ref[0]], size = model.size, image = new Image();
  image.src = new URL(sheet.url, model.dataUrl).href;
  await image.decode();
  const canvas = el("canvas", { width: size, height: size });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, (ref[1] % sheet.cols) * size, Math.floor(ref[1] / sheet.cols) * size, size, size, 0, 0, size, size);
  return context.getImageData(0, 0, size, size).data;
}

// The drawing pad: pointer drawing in white, black (or any colour for a colour model), Clear, and a
// picture from the reader's disk painted onto it (centre-cropped to a square). pixels(size) is the
// pad resized to the model's size.
function drawingPad(channels) {
  const canvas = el("canvas", { class: "nti-fb-pad", width: PAD, height: PAD, role: "img", "aria-label": "Drawing pad" });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let colour = "#ffffff", last = null;
  const clear = () => { context.fillStyle = "#000000"; context.fillRect(0, 0, PAD, PAD); canvas.dataset.drawn = "0"; };
  clear();
  const at = (event) => { const box = canvas.getBoundingClientRect(); return [(event.clientX - box.left) * PAD / box.width, (event.clientY - box.top) * PAD / box.height]; };
  function stroke(to) {
    context.strokeStyle = context.fillStyle = colour;
    context.lineWidth = BRUSH;
    context.lineCap = "round";
    context.beginPath();
    context.moveTo(...(last || to));
    context.lineTo(...to);
    context.stroke();
    last = to;
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn) + 1);
  }
  canvas.addEventListener("pointerdown", (event) => { event.preventDefault(); canvas.setPointerCapture(event.pointerId); last = null; stroke(at(event)); });
  canvas.addEventListener("pointermove", (event) => { if (canvas.hasPointerCapture(event.pointerId)) stroke(at(event)); });
  const end = () => { last = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const swatch = (name, value) => {
    const button = el("button", { type: "button", class: "nti-button nti-fb-swatch", "aria-pressed": String(value === colour), text: name });
    button.addEventListener("click", () => pick(value));
    return button;
  };
  const swatches = [swatch("White", "#ffffff"), swatch("Black", "#000000")];
  const colourInput = channels === 3 ? el("input", { type: "color", value: "#ff3b30", "aria-label": "Brush colour" }) : null;
  function pick(value) {
    colour = value;
    swatches.forEach((b) => b.setAttribute("aria-pressed", String(b.textContent === "White" ? value === "#ffffff" : value === "#000000")));
  }
  if (colourInput) colourInput.addEventListener("input", () => pick(colourInput.value));
  const clearButton = el("button", { type: "button", class: "nti-button", text: "Clear" });
  clearButton.addEventListener("click", clear);
  const tools = el("div", { class: "nti-fb-tools" }, [...swatches, colourInput, clearButton]);

  // A picture, centre-cropped to a square and drawn over the whole pad (the browser decodes it here).
  async function load(file) {
    const bitmap = await createImageBitmap(file);
    const side = Math.min(bitmap.width, bitmap.height);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, PAD, PAD);
    bitmap.close();
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn) + 1);
  }
  function pixels(size) {
    const small = el("canvas", { width: size, height: size });
    const c = small.getContext("2d", { willReadFrequently: true });
    c.imageSmoothingEnabled = true;
    c.imageSmoothingQuality = "high";
    c.drawImage(canvas, 0, 0, PAD, PAD, 0, 0, size, size);
    return c.getImageData(0, 0, size, size).data;
  }
  return { canvas, tools, load, pixels };
}

// The precomputed distances by start level (x: ᾱ, noisiest on the left) with the live run's point.
function distanceChart(model, live) {
  const points = model.levels.filter((l) => l.alpha_bar !== null && l.distance !== null).map((l) => [l.alpha_bar, l.distance]);
  if (!points.length || live.alpha_bar === undefined) return null;
  const W = 300, H = 120, left = 34, right = 8, top = 8, bottom = 26;
  const most = Math.max(live.distance, ...points.map((p) => p[1])) * 1.1 || 1;
  const X = (a) => left + a * (W - left - right), Y = (d) => H - bottom - (d / most) * (H - top - bottom);
  const line = points.map(([a, d]) => `${X(a).toFixed(1)},${Y(d).toFixed(1)}`).join(" ");
  const svg = `<line class="nti-axis" x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}"/>` +
    `<line class="nti-axis" x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}"/>` +
    `<text class="nti-chart-text" x="${left - 4}" y="${top + 8}" text-anchor="end">${fmt(most, 2)}</text>` +
    `<text class="nti-chart-text" x="${left - 4}" y="${H - bottom}" text-anchor="end">0</text>` +
    `<text class="nti-chart-text" x="${(left + W - right) / 2}" y="${H - 6}" text-anchor="middle">start level ᾱ (noisier to the left)</text>` +
    `<polyline class="nti-series-mix-line" points="${line}"/>` +
    `<circle class="nti-fb-live-point" cx="${X(live.alpha_bar).toFixed(1)}" cy="${Y(live.distance).toFixed(1)}" r="4"/>` +
    `<text class="nti-chart-text nti-fb-live-label" x="${X(live.alpha_bar).toFixed(1)}" y="${(Y(live.distance) - 7).toFixed(1)}" text-anchor="middle">live</text>`;
  const chart = el("div", { class: "nti-fb-live-chart" });
  chart.innerHTML = `<svg class="nti-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Distance to the original by start level: the precomputed line (from the model's sample) and this live run's point, ${fmt(live.distance, 2)} at ᾱ ${fmt(live.alpha_bar)}">${svg}</svg>`;
  return chart;
}

// The live block of the forward/backward figure. Returns LiveBlock's object plus setLevel(k), which
// the figure calls as its own start-level slider moves (the live form starts where the reader is).
export function LiveForwardBackward(model) {
  const live = model.live || {}, steps = model.steps;
  const [channels, size] = live.shape ? [live.shape[0], live.shape[1]] : [model.channels || 3, model.size];
  const noise = model.live_noise || { seed: 0, rows: 1, per_level: false, ddpm_seeds: [] };
  const SOURCES = ["the model's sample", "a drawing", "a picture file"];
  let source = 0;
  const sourcePicker = Picker({ label: "Source", options: SOURCES.map((text) => ({ text })), value: 0, onChange: (i) => showSource(i) });
  const pad = drawingPad(channels);
  const fileId = `nti-fb-file-${Math.random().toString(36).slice(2)}`;
  const file = el("input", { id: fileId, type: "file", accept: "image/*" });
  const fileNote = el("p", { class: "nti-fb-file-note", role: "status" });
  const fileField = el("div", { class: "nti-live-field nti-fb-file" },
    [el("label", { for: fileId, text: "Picture (stays on this device)" }), file, fileNote]);
  file.addEventListener("change", () => {
    if (!file.files.length) return;
    const chosen = file.files[0];
    pad.load(chosen).then(() => { fileNote.textContent = `${chosen.name}: centre square, resized to ${size} × ${size}; draw over it if you like.`; },
      () => { fileNote.textContent = `${chosen.name}: this browser cannot read it as an image.`; });
  });
  const padBox = el("div", { class: "nti-fb-padbox", hidden: true }, [fileField, pad.canvas, pad.tools]);
  function showSource(i) {
    source = i;
    padBox.hidden = i === 0;
    fileField.hidden = i !== 2;
  }
  // which way the levels run is in the label itself, not only in a tooltip
  const level = Live.numberField("Level (1 = noisiest)", { min: 1, max: steps, value: 1 });
  level.input.title = `start level k of ${steps}: 1 is the noisiest, ${steps} the cleanest`;
  const own = /DDPM/.test(model.scheduler || "") ? "ddpm" : "ddim";
  const sampler = Live.samplerField(own);

  // the source as 8-bit RGBA at the model's size (grey for a grey model)
  async function sourcePixels() {
    const rgba = source === 0 ? await framePixels(model, model.original) : pad.pixels(size);
    return channels === 1 ? greyed(new Uint8ClampedArray(rgba)) : new Uint8ClampedArray(rgba);
  }

  let job = null, frames = [], panels = null, info = null, original = null, x0 = null;
  const words = () => `${SOURCES[job.source]} noised to level ${job.startIndex + 1} of ${steps}, then ${steps - job.startIndex} ${job.scheduler.toUpperCase()} step${steps - job.startIndex === 1 ? "" : "s"} back on ${model.slug}`;
  const name = (what) => `live: ${model.slug}, ${SOURCES[job.source]}, level ${job.startIndex}, ${job.scheduler.toUpperCase()}, ${what}`;
  // j denoising steps taken: j = 0 is the noised image, j >= 1 the output of step j
  function drawStep(j) {
    const f = j === 0 ? frames[0].frames.x : frames[j - 1].frames.next;
    panels.current.drawPixels(f, size, name(`${j} steps taken`));
    // after j steps the image is at the input timestep of step j + 1; after the last, it is the reconstruction
    const where = j === 0 ? `at t = ${frames[0].t}` : j < frames.length ? `now at t = ${frames[j].t}` : "the reconstruction";
    info.textContent = `${j} of ${steps - job.startIndex} denoising steps taken: ${where}`;
  }

  const block = LiveBlock({
    model, title: `Your image, noised to any of the ${steps} levels and denoised back`,
    fields: [sourcePicker.el, level.el, sampler.el, padBox],
    start(report) {
      let cancelled = false, handle = null;
      frames = [];
      job = { source, startIndex: level.value() - 1, scheduler: sampler.value() };
      const done = sourcePixels().then((rgba) => {
        if (cancelled) throw Object.assign(new Error("cancelled"), { name: "AbortError" });
        original = rgba;
        x0 = toFloats(rgba, channels, size);
        handle = Live.run(model, {
          scheduler: job.scheduler, steps, startIndex: job.startIndex, image: x0, keep: "all",
          seed: noise.ddpm_seeds[job.startIndex] || 0, // DDPM's per-step stream of this level
          noiseSeed: noise.seed, noiseRows: noise.rows, noiseRow: noise.per_level ? job.startIndex : 0,
        }, { onStatus: report.onStatus, onStep(step) { frames[step.done - 1] = step; report.onStep(step); } });
        return handle.done;
      });
      return { done, cancel() { cancelled = true; if (handle) handle.cancel(); } };
    },
    onStep(step, area) {
      if (step.done === 1) {
        panels = { original: panel("original x₀", "nti-fb-live-original"), noised: panel("noised", "nti-fb-live-noised"),
          current: panel("denoising", "nti-fb-live-current"), recon: panel("recon\u00ADstruction", "nti-fb-live-recon"),
          diff: panel("difference", "nti-fb-diff nti-fb-live-diff") };
        panels.diff.el.append(fbDiffBar(model.diff_scale).el); // fig-forward-backward.js: ticks in % of black to white
        info = el("p", { class: "nti-info", "aria-live": "off" });
        area.replaceChildren(Live.mark(words()), el("div", { class: "nti-panels nti-live-panels" }, Object.values(panels).map((p) => p.el)), info);
        panels.original.drawPixels(original, size, name("original"));
        panels.noised.drawPixels(step.frames.x, size, name("noised"));
      }
      drawStep(step.done);
    },
    onResult(answer, area) {
      const recon = toFloats(answer.image, channels, size); // the 8-bit reconstruction, as the precompute measures it
      const { rgba, distance } = heatmap(recon, x0, channels, size, model.diff_scale);
      panels.recon.drawPixels(answer.image, size, name("reconstruction"));
      panels.diff.drawPixels(rgba, size, name("|reconstruction − original|"));
      const pre = model.levels.find((l) => l.level === job.startIndex);
      const sentence = `‖reconstruction − original‖₂ = ${fmt(distance, 2)} live` +
        (pre && pre.distance !== null ? `; precomputed from the model's sample at this level (${own.toUpperCase()}): ${fmt(pre.distance, 2)}` : "");
      const slider = Slider({ label: "Live denoising steps taken", min: 0, max: frames.length, value: frames.length,
        text: (j) => `${j} step${j === 1 ? "" : "s"} taken`, onChange: drawStep });
      const chart = distanceChart(model, { distance, alpha_bar: pre ? pre.alpha_bar : undefined });
      area.append(el("div", { class: "nti-controls" }, [slider.el]), el("p", { class: "nti-fb-live-distance", text: sentence }), chart);
      Object.assign(area.dataset, { source: ["sample", "draw", "file"][job.source], level: job.startIndex, scheduler: job.scheduler, distance });
      drawStep(frames.length);
    },
  });
  block.setLevel = (k) => { level.input.value = String(k + 1); };
  return block;
}

LiveForwardBackward.heatmap = heatmap; // for the tests: the table and the arithmetic against measure.py
LiveForwardBackward.VIRIDIS = Live.VIRIDIS;
