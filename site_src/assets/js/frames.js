// Frame loading shared by every figure: fetch figure data, load each sprite sheet once, and draw
// one cell of a sheet onto a panel's canvas. Drawing only from already-decoded sheets means a
// slider never shows a blank or stale frame while it is dragged.

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children || []) if (child) node.append(child);
  return node;
}

export async function loadJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// Sheets load on demand, per model: model.images[i] is a decoded sheet or undefined until then.
// Decoding before use (image.decode) keeps the first draw from a new sheet as fast as the rest.
// Large frames (256 px) have preview sheets at half size: all a screen of 1 device pixel per CSS
// pixel can show of a panel (at most MAX_PANEL_PX wide, so 128 px of a 256-px frame). Where
// the screen is denser the exact sheets load instead.
export const MAX_PANEL_PX = 160; // no panel bigger than this, however wide the column
function previewEnough(model) {
  const preview = model.sheets.length && model.sheets[0].preview;
  if (!preview) return false;
  const shown = model.size * panelScale({ width: Infinity, size: model.size, perRow: 1, maxPx: MAX_PANEL_PX });
  return (window.devicePixelRatio || 1) * shown <= preview.size;
}
function prepare(model, dataUrl) {
  if (!model.images) {
    model.images = new Array(model.sheets.length);
    model.loading = new Map(); // sheet index -> Promise, while in flight or done
    model.dataUrl = dataUrl;   // sheet URLs are relative to the figure's JSON file
    model.usePreview = previewEnough(model);
    if (model.usePreview) previewed.add(model);
  }
  return model;
}
// A change of density without a resize (a window moved to another monitor) is seen here.
const previewed = new Set();
(function watchDensity() {
  if (!window.matchMedia) return;
  window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`).addEventListener("change", () => {
    for (const model of previewed) sharpen(model).then((done) => { if (done) previewed.delete(model); });
    watchDensity();
  }, { once: true });
})();
export const prepareModel = prepare;

// The screen became denser (the reader zoomed in, or moved the window to a denser monitor): the
// sheets loaded so far are fetched again at full resolution. The previews stay on screen until
// each exact sheet has arrived; then the panels showing it repaint (model.painters).
export function sharpen(model) {
  if (!model.images || !model.usePreview || previewEnough(model)) return Promise.resolve(false);
  model.usePreview = false;
  const loaded = [...model.loading.keys()];
  model.loading = new Map();
  return Promise.all(loaded.map((index) => ensureSheet(model, index).then(
    () => { for (const repaint of model.painters || []) repaint(index); },
    () => {}))).then(() => true);
}

export function ensureSheet(model, index) {
  if (!model.loading.has(index)) {
    const sheet = model.sheets[index];
    const url = new URL(model.usePreview && sheet.preview ? sheet.preview.url : sheet.url, model.dataUrl).href;
    const image = new Image();
    image.src = url;
    const promise = image.decode().then(() => { model.images[index] = image; return image; }, () => {
      model.loading.delete(index); // a later draw may try again
      throw new Error(`${url}: sprite sheet failed to load`);
    });
    model.loading.set(index, promise);
  }
  return model.loading.get(index);
}

// Everything requested so far (the sheets the current view draws) has arrived.
export const settled = (model) => Promise.all(model.loading.values());
export const allLoaded = (model) => model.sheets.every((_, i) => model.images[i]); // not images.every: it skips holes

// Load the model's remaining sheets, frames every view needs first (group null), then the tracks
// nearest `focus` (the current seed or level), a few at a time so the nearest arrive first.
// `wanted()` is asked before each request: once the reader switches model or leaves the page it
// answers false and the queue stops, leaving at most the three requests already in flight.
export function preload(model, focus, wanted = () => true) {
  const rank = (i) => (model.sheets[i].group === null || model.sheets[i].group === undefined ? -1 : Math.abs(model.sheets[i].group - focus));
  const order = model.sheets.map((_, i) => i).filter((i) => !model.images[i]).sort((a, b) => rank(a) - rank(b) || a - b);
  let next = 0;
  const worker = async () => { while (next < order.length && wanted()) await ensureSheet(model, order[next++]); };
  return Promise.all([worker(), worker(), worker()]);
}

// A captioned canvas showing one frame; data-frame names the manifest file on screen. Its size on
// screen is the figure's --nti-panel (or --nti-thumb for extraClass "nti-thumb"), a whole multiple
// of the model's resolution set by fit() in mount (figure-shell.js), which also writes that
// multiple to the canvas's data-scale.
export function panel(caption, extraClass) {
  const canvas = el("canvas", { width: 1, height: 1, role: "img", "aria-label": caption });
  const captionEl = el("figcaption", { text: caption });
  const figure = el("figure", { class: "nti-panel" + (extraClass ? " " + extraClass : "") },
    [el("div", { class: "nti-canvas-wrap" }, [canvas]), captionEl]);
  let wanted = null, wantedModel = null;
  // Repaint when the sheet on screen is replaced by its exact version (sharpen).
  const repaint = (index) => { if (wanted && wanted[0] === index && wantedModel.images[index]) paint(wantedModel, wanted, wantedModel.images[index]); };
  function label() { canvas.setAttribute("aria-label", figure.dataset.frame ? `${caption} (${figure.dataset.frame})` : caption); }
  function paint(model, ref, image) {
    const sheet = model.sheets[ref[0]];
    const size = Math.round(image.naturalWidth / sheet.cols); // the frame's size, or its preview's
    if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, size, size);
    context.drawImage(image, (ref[1] % sheet.cols) * size, Math.floor(ref[1] / sheet.cols) * size, size, size, 0, 0, size, size);
    figure.dataset.frame = ref[2];
    canvas.dataset.frame = ref[2];
    canvas.dataset.sheet = ref[0]; // where the frame sits: the download of this frame cuts it from the exact sheet
    canvas.dataset.cell = ref[1];
    label();
  }
  return {
    el: figure,
    canvas,
    // Draw now if the sheet is in; otherwise keep the frame on screen and draw this one when its
    // sheet arrives, unless another draw was asked for meanwhile.
    draw(model, ref) {
      wanted = ref;
      if (wantedModel !== model) { wantedModel = model; (model.painters ||= new Set()).add(repaint); }
      const image = model.images[ref[0]];
      if (image) return paint(model, ref, image);
      ensureSheet(model, ref[0]).then((loaded) => { if (wanted === ref) paint(model, ref, loaded); }, (error) => console.error(error));
    },
    // Pixels computed on the page (live mode): RGBA bytes of a size x size image; `name` stands
    // where a precomputed panel names its manifest frame.
    drawPixels(rgba, size, name) {
      wanted = null;
      if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
      canvas.getContext("2d").putImageData(new ImageData(rgba, size, size), 0, 0);
      figure.dataset.frame = name;
      canvas.dataset.frame = name;
      label();
    },
    // A panel that shows different things in turn (flip) renames itself with them.
    setCaption(text) {
      if (text === caption) return;
      caption = text;
      captionEl.textContent = text;
      label();
    },
  };
}

// The element that is pinned (position: sticky) for a figure: the figure with its caption beside
// the text, the figure alone where it is stacked above the text (figures.css); null outside a
// scrollytelling section or where a figure too tall to pin scrolls with the page.
export function pinned(start, stop) {
  for (let node = start; node && node !== stop && node !== document.body; node = node.parentElement) {
    if (getComputedStyle(node).position === "sticky") return node;
  }
  return null;
}

// Whole-number panel scale: the largest multiple of the model's resolution (`size` px) at which
// `perRow` panels, `gap` px apart, fit in `width` px beside `reserve` px of other content (a
// colour bar), at most `maxPx` px a panel and never below 1. Pixels of the image then stay even.
// A frame larger than that room (256 px) is shown at a power-of-two fraction instead (1/2, 1/4):
// each CSS pixel is then the mean of whole pixels, as in its preview sheet.
export function panelScale({ width, size, perRow, gap, reserve, maxPx }) {
  const room = Math.min((width - (reserve || 0) - (perRow - 1) * (gap || 0)) / perRow, maxPx || Infinity);
  if (size <= room) return Math.max(1, Math.floor(room / size));
  let scale = 1;
  while (scale > 1 / 8 && size * scale > room) scale /= 2;
  return scale;
}

// An SVG element with attributes (and text): what every chart is drawn with.
export function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Axes of a chart with a log-scale x (ticks at `xs`) and a linear y from 0 (ticks `yTicks`):
// the distance-against-calls charts. Returns the scales X(n) and Y(v) (y clipped at the top tick).
export function logAxes(root, { W, H, pad, xs, yTicks, xLabel, yLabel }) {
  const yMax = yTicks[yTicks.length - 1];
  const lx = (n) => Math.log10(n), x0 = lx(xs[0]), x1 = lx(xs[xs.length - 1]);
  const X = (n) => pad.l + ((lx(n) - x0) / Math.max(1e-9, x1 - x0)) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - (Math.min(v, yMax) / yMax) * (H - pad.t - pad.b);
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  for (const n of xs) {
    root.append(svg("line", { x1: X(n), y1: H - pad.b, x2: X(n), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(n), y: H - pad.b + 12, "text-anchor": "middle", class: "nti-chart-text" }, String(n)));
  }
  for (const v of yTicks) {
    root.append(svg("line", { x1: pad.l - 3, y1: Y(v), x2: pad.l, y2: Y(v), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(v) + 3, "text-anchor": "end", class: "nti-chart-text" }, tickText(v, yTicks)));
  }
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, xLabel));
  root.append(svg("text", { x: 10, y: (H - pad.b) / 2, "text-anchor": "middle", class: "nti-chart-text", transform: `rotate(-90 10 ${(H - pad.b) / 2})` }, yLabel));
  return { X, Y };
}

// Round axis ticks from 0 to at least `max`: steps of 1, 2, 2.5 or 5 x 10^k, about `count` of them.
export function niceTicks(max, count) {
  if (!(max > 0)) return [0, 1];
  const raw = max / Math.max(1, count || 4);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw * 0.999);
  const ticks = [];
  for (let i = 0; ticks.length === 0 || ticks[ticks.length - 1] < max * 0.999; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}
// A tick's label with as many decimals as the tick step needs (0, 0.5, 1.0, ...; 0 stays "0").
export const tickText = (value, ticks) => {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  let digits = 0;
  while (digits < 3 && Math.abs(Math.round(step * 10 ** digits) - step * 10 ** digits) > 1e-6) digits++;
  return value === 0 ? "0" : Number(value).toFixed(digits);
};

// A signal-to-noise ratio in decibels (10 log10), as the schedules page charts it; ∞ for a clean image.
export const decibels = (ratio) => (ratio === null || ratio === undefined || !(ratio < Infinity) ? "∞ dB"
  : ratio <= 0 ? "−∞ dB" : `${(10 * Math.log10(ratio)).toFixed(1).replace("-", "−")} dB`);

export function fmt(value, digits) {
  if (value === null || value === undefined) return "∞";
  if (Math.abs(value) >= 1000) return value.toExponential(1);
  return Number(value).toFixed(digits === undefined ? 3 : digits);
}
