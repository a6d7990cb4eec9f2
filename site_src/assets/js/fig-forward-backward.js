// Forward then backward: a start-level slider (how much noise is added) and a denoising-step slider
// over the triangle of runs; original, noised, current, reconstruction and their difference.
import { el, fmt, panel } from "./frames.js";
import { lazy } from "./live.js";
import { Slider } from "./slider.js";
import { ColorBar, Player, fromFraction } from "./widgets.js";

const MAX_CELL = 40; // CSS px: frames are drawn at the largest integer scale that fits, up to about this
// The difference heatmap's colour bar (shared with live-forward-backward.js) in the reader's unit: % of the
// black-to-white range. Pixels run from −1 to 1, so a mean |difference| of 1 is 50 %; ColorBar
// writes the raw values, so its ticks and its label are restated here.
export const FB_DIFF_UNITS = "|reconstruction − original| per pixel, in % of the black-to-white range";
export function fbDiffBar(max) {
  const bar = ColorBar({ max, label: FB_DIFF_UNITS });
  const percent = (v) => Math.round((v / 2) * 100);
  // the unit on the last tick only: three "NN %" do not fit under a phone's 60-px panel
  bar.el.querySelectorAll(".nti-colorbar-ticks span").forEach((span, i) => { span.textContent = i === 2 ? `${percent(max)} %` : String(percent([0, max / 2][i])); });
  bar.el.setAttribute("aria-label", `${FB_DIFF_UNITS}: colour scale from 0 % (dark) to ${percent(max)} % or more (bright)`);
  return bar;
}

function megabytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

// The triangle of runs as images (experiments/forward_backward/mosaic.py): row = start level k (noisiest on top),
// column = sampling step m, so cell (k, m) shows L{k}/{m-k}; the right-hand column holds every
// level's reconstruction. The cells are copied from one small mosaic image onto a canvas drawn at
// an integer scale; where the column is too narrow for all of them (a phone) every other row is
// shown, with the columns where those rows start. A button over each cell jumps both sliders
// there; the current (level, step) cell is outlined (dashed when it lies between the rows or
// columns shown, at the nearest cell). The whole triangle is one link away, never preloaded.
function triangleGrid(model, pick) {
  const tri = model.triangle, grid = tri.grid, pitch = tri.cell + tri.gap, lastCol = grid.cols.length - 1;
  const levelIndex = new Map(model.levels.map((level, index) => [level.level, index]));
  const source = new Image();
  source.src = new URL(grid.url, model.dataUrl).href;
  let loaded = false;
  const canvas = el("canvas", { class: "nti-tri-img", width: grid.width, height: grid.height, "aria-hidden": "true" });
  const marker = el("div", { class: "nti-tri-marker", "aria-hidden": "true" });
  const cells = el("div", { class: "nti-tri-cells", role: "group",
    "aria-label": "Runs by start level (rows, level 1 = noisiest on top) and sampling step (columns); arrow keys move, Enter shows a run" });
  const yticks = el("div", { class: "nti-tri-yticks", "aria-hidden": "true" });
  const plot = el("div", { class: "nti-tri-plot" }, [canvas, yticks, cells, marker]);
  const xticks = el("div", { class: "nti-tri-xticks", "aria-hidden": "true" });
  const ylabel = el("div", { class: "nti-tri-ylabel", "aria-hidden": "true", text: "start level (ᾱ): 1 = noisiest, on top" });
  const full = tri.full;
  const link = el("a", { class: "nti-tri-full", href: new URL(full.url, model.dataUrl).href, target: "_blank", rel: "noopener",
    text: `Full triangle (${full.rows.length} × ${full.cols.length} images, ${megabytes(full.bytes)})` });
  // an empty full-width line: its width is the room there is, and no redraw of the grid changes its size
  // (so the resize observer never sees its own doing)
  const gauge = el("div", { class: "nti-tri-gauge" });
  const box = el("div", { class: "nti-tri" }, [gauge,
    el("div", { class: "nti-tri-frame" }, [ylabel, el("div", { class: "nti-tri-main" }, [plot, xticks,
      el("div", { class: "nti-tri-xlabel", "aria-hidden": "true", text: "sampling step: noise → clean (last column: reconstructions)" })])]),
    el("p", { class: "nti-tri-more" }, [link]),
  ]);
  box.style.setProperty("--nti-tri-cell", tri.cell);
  box.style.setProperty("--nti-tri-pitch", pitch);

  // The views: all rows and columns, or every other row (always the last) and the columns where they start.
  const every = { rows: grid.rows.map((_, r) => r), cols: grid.cols.map((_, c) => c) };
  const halfRows = every.rows.filter((r) => r % 2 === 0 || r === grid.rows.length - 1);
  const starts = new Set(halfRows.map((r) => grid.rows[r]));
  const half = { rows: halfRows, cols: every.cols.filter((c) => starts.has(grid.cols[c]) || c === lastCol) };
  const widthOf = (v) => v.cols.length * pitch - tri.gap;
  let view = null, scale = 0, buttons = [], focusable = null, current = null;

  // Pick the view and the integer scale (every frame pixel an s x s block of CSS pixels) for the room there is.
  // Until the figure is on the page its width is 0: all rows at scale 1; the observer then decides.
  function fit() {
    const room = gauge.clientWidth - ylabel.offsetWidth - 6;
    const next = room > 0 && widthOf(every) > room ? half : every;
    const most = Math.max(1, Math.floor(MAX_CELL / tri.cell));
    const s = room > 0 ? Math.max(1, Math.min(most, Math.floor(room / widthOf(next)))) : 1;
    if (next === view && s === scale) return;
    if (next !== view) { view = next; build(); }
    scale = s;
    box.style.setProperty("--nti-tri-s", scale);
  }

  function build() {
    const width = widthOf(view), height = view.rows.length * pitch - tri.gap;
    canvas.width = width; canvas.height = height;
    box.style.setProperty("--nti-tri-w", width);
    box.style.setProperty("--nti-tri-h", height);
    box.dataset.rows = view.rows.length;
    const hadFocus = cells.contains(document.activeElement);
    cells.replaceChildren(); yticks.replaceChildren(); xticks.replaceChildren();
    buttons = view.rows.map(() => []);
    focusable = null;
    view.rows.forEach((r, vr) => {
      const k = grid.rows[r], level = model.levels[levelIndex.get(k)];
      let first = -1;
      view.cols.forEach((c, vc) => {
        const m = grid.cols[c];
        if (m < k) return;
        if (first < 0) first = vc;
        const j = m - k;
        const words = `start level ${k + 1} of ${model.steps} (ᾱ ${fmt(level.alpha_bar)}), ${j} of ${model.steps - k} denoising steps taken` +
          (m === model.steps ? " (the reconstruction)" : "");
        const button = el("button", { type: "button", class: "nti-tri-cell", tabindex: -1, "aria-label": words, title: words });
        button.dataset.level = k;
        button.dataset.step = j;
        button.style.setProperty("--nti-r", vr);
        button.style.setProperty("--nti-c", vc);
        button.addEventListener("click", () => { setFocusable(button); pick(levelIndex.get(k), j); });
        button.addEventListener("keydown", (event) => move(event, vr, vc));
        buttons[vr][vc] = button;
        cells.append(button);
      });
      // ᾱ of the row, in the empty lower-left half just before the row's first cell (the top row has no room)
      if (first > 0) {
        const tick = el("span", { class: "nti-tri-ytick", text: fmt(level.alpha_bar, 2) });
        tick.style.setProperty("--nti-r", vr);
        tick.style.setProperty("--nti-c", first);
        yticks.append(tick);
      }
    });
    // x ticks: the first, a middle and the last column, by sampling step
    const lastShown = view.cols.length - 1;
    for (const vc of [...new Set([0, Math.round(lastShown / 2), lastShown])]) {
      const tick = el("span", { class: "nti-tri-xtick", text: String(grid.cols[view.cols[vc]]) });
      tick.style.setProperty("--nti-c", vc);
      xticks.append(tick);
    }
    paint();
    if (current) mark(...current);
    if (hadFocus && focusable) focusable.focus();
  }

  // Copy the shown cells from the mosaic, pixel for pixel; the scale is CSS's (image-rendering: pixelated).
  function paint() {
    if (!loaded) return;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, canvas.width, canvas.height);
    view.rows.forEach((r, vr) => view.cols.forEach((c, vc) => {
      if (grid.cols[c] >= grid.rows[r]) {
        context.drawImage(source, c * pitch, r * pitch, tri.cell, tri.cell, vc * pitch, vr * pitch, tri.cell, tri.cell);
      }
    }));
    box.dataset.painted = "true";
  }
  source.decode().then(() => { loaded = true; paint(); }, () => console.error(`${source.src}: triangle mosaic failed to load`));

  function setFocusable(button) {
    if (focusable === button) return;
    if (focusable) focusable.tabIndex = -1;
    focusable = button;
    button.tabIndex = 0;
  }
  // Arrow keys move between cells (up and down keep the column where the row has it), Home/End to a row's ends.
  function move(event, vr, vc) {
    const filled = (i) => buttons[i].map((b, index) => (b ? index : -1)).filter((index) => index >= 0);
    let target = null;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      target = buttons[vr][vc + (event.key === "ArrowLeft" ? -1 : 1)];
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      const i = vr + (event.key === "ArrowUp" ? -1 : 1);
      if (i >= 0 && i < buttons.length) { const row = filled(i); target = buttons[i][row.includes(vc) ? vc : row[0]]; }
    } else if (event.key === "Home" || event.key === "End") {
      const row = filled(vr);
      target = buttons[vr][event.key === "Home" ? row[0] : row[row.length - 1]];
    } else return;
    event.preventDefault();
    if (target) { setFocusable(target); target.focus(); }
  }

  // Outline the cell of start level k after j steps: exact when shown, else the nearest shown cell.
  function mark(k, j) {
    current = [k, j];
    const m = k + j;
    let vr = 0;
    view.rows.forEach((r, i) => { if (Math.abs(grid.rows[r] - k) < Math.abs(grid.rows[view.rows[vr]] - k)) vr = i; });
    const rowK = grid.rows[view.rows[vr]];
    let vc = -1;
    view.cols.forEach((c, i) => {
      if (grid.cols[c] >= rowK && (vc < 0 || Math.abs(grid.cols[c] - m) < Math.abs(grid.cols[view.cols[vc]] - m))) vc = i;
    });
    const exact = rowK === k && grid.cols[view.cols[vc]] === m;
    marker.style.setProperty("--nti-r", vr);
    marker.style.setProperty("--nti-c", vc);
    marker.classList.toggle("nti-tri-near", !exact);
    for (const b of cells.querySelectorAll("[aria-current]")) b.removeAttribute("aria-current");
    if (exact) buttons[vr][vc].setAttribute("aria-current", "true");
    if (!cells.contains(document.activeElement)) setFocusable(buttons[vr][vc]);
  }

  fit();
  const observer = "ResizeObserver" in window ? new ResizeObserver(fit) : null;
  if (observer) observer.observe(gauge);
  // A compact figure shows its views in turn and measures each at once (figure-shell.js): size the
  // grid for its column then, not a frame later, when the observer would
  box.addEventListener("nti-view", fit);
  return { el: box, mark, disconnect() { if (observer) observer.disconnect(); box.removeEventListener("nti-view", fit); } };
}

export const forward_backward = {
  layout: { perRow: [5, 5], secondary: ".nti-tri", views: ["Frames", "Triangle"] }, // panels per row (wide, phone): the five views of a level
  create(body, model, shell) {
    const panels = {
      // short captions (five panels a row on a phone); the soft hyphen breaks "reconstruction" cleanly
      original: panel("original x₀"), noised: panel("noised"),
      current: panel("denoising"), recon: panel("recon\u00ADstruction"),
      diff: panel("difference", "nti-fb-diff"), // |reconstruction − original|: the colour bar's label says so
    };
    // the heatmap's colour scale, under its panel, in % of the black-to-white range (the caption names it)
    panels.diff.el.append(fbDiffBar(model.diff_scale).el);
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const lastLevel = model.levels.length - 1;
    const map = model.triangle ? triangleGrid(model, (index, j) => { levelSlider.set(index); stepSlider.set(j); }) : null;
    if (map) shell.cleanups.push(() => map.disconnect());
    const levelOf = () => model.levels[levelSlider.value];
    function drawStep(j) {
      const level = levelOf();
      panels.current.draw(model, level.frames[j]);
      if (map) map.mark(level.level, j);
      // what the reconstruction matches (judge.py: a class, or the nearest training image): half of the page's "same picture" verdict
      const classed = !level.match ? "" : model.judge === "nearest" ? `, nearest ${level.match} (the original's: ${model.original_match})`
        : `, classed ${level.match} (the original: ${model.original_match})`;
      info.textContent = `start level ${level.level + 1} of ${model.steps}: t = ${level.timestep}, ᾱ = ${fmt(level.alpha_bar)}; ` +
        `${j} of ${level.frames.length - 1} steps taken; reconstruction ${fmt(level.distance, 2)} from the original${classed}`;
    }
    function drawLevel(index) {
      const level = model.levels[index];
      panels.noised.draw(model, level.frames[0]);
      panels.recon.draw(model, level.frames[level.frames.length - 1]);
      panels.diff.draw(model, level.diff);
      stepSlider.setRange(0, level.frames.length - 1, stepSlider.value);
      drawStep(stepSlider.value);
    }
    // which way the levels run is said on the slider itself: level 1 (left) is the noisiest start
    const levelSlider = Slider({ label: "Start level (1 = noisiest)", min: 0, max: lastLevel, value: 0,
      text: (k) => `level ${model.levels[k].level + 1} of ${model.steps}, ᾱ ${fmt(model.levels[k].alpha_bar)}`,
      onChange: (k) => { drawLevel(k); live.setLevel(model.levels[k].level); } });
    const stepSlider = Slider({ label: "Denoising steps taken", min: 0, max: model.levels[0].frames.length - 1, value: 0,
      text: (j) => `${j} step${j === 1 ? "" : "s"} taken`, onChange: (j) => drawStep(j) });
    // any start level from the model's sample, a drawing or a picture, in the browser (live-forward-backward.js)
    const live = lazy(model, () => import("./live-forward-backward.js").then((m) => m.LiveForwardBackward(model)), ["setLevel"]);
    shell.cleanups.push(() => live.cancel());
    const player = Player({ shell, interval: 150, tick: () => stepSlider.set(stepSlider.value >= stepSlider.max ? 0 : stepSlider.value + 1) });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), map ? map.el : null, info,
      el("div", { class: "nti-controls" }, [levelSlider.el, stepSlider.el, player.el, live.el]));
    panels.original.draw(model, model.original);
    drawLevel(0);
    live.setLevel(model.levels[0].level);
    return {
      focus: () => levelSlider.value, // rows nearest the current start level load first
      getState: () => ({ level: lastLevel ? levelSlider.value / lastLevel : 0, step: stepSlider.max ? stepSlider.value / stepSlider.max : 0 }),
      setState(state) {
        if (state.level !== undefined) levelSlider.set(fromFraction(state.level, lastLevel));
        if (state.step !== undefined) stepSlider.set(fromFraction(state.step, stepSlider.max));
      },
    };
  },
};
