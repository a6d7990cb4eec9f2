// Similar noise under DDIM, two figures sharing one layout: two rows of three, n1 n2 |n1 − n2| over
// o1 o2 |o1 − o2|, each heatmap with its colour scale, both Euclidean distances, and a flip toggle
// that makes the n2 and o2 panels alternate in place between n1/o1 and n2/o2.
//   patch_noise: patch-size slider + position picker (buttons, or click the noise image)
//   mix_noise:   mixing-scale slider + a chart of output distance against noise distance
// Each has a "Try it live" block (live-similar-noise.js): the reader's own square or s and seeds, sampled in
// the browser; the mix figure's live results join its distance chart.
import { el, fmt, niceTicks, panel, svg, tickText } from "./frames.js";
import { lazy } from "./live.js";
import { Slider } from "./slider.js";
import { ColorBar, Player, SeedPicker, Toggle, fromFraction } from "./widgets.js";


// What the two heatmaps measure, in which unit (their captions, colour-bar labels and ticks; the live
// panels of live-similar-noise.js use the same captions).
export const NOISE_HEAT = {
  noise: { caption: "|n1 − n2| in σ", units: "|n1 − n2| per pixel, mean over channels, in standard deviations σ of the noise",
    tick: (v) => (v === 0 ? "0" : `${+v.toFixed(1)} σ`) },
  output: { caption: "|o1 − o2| in % of range", units: "|o1 − o2| per pixel, mean over channels, in % of the black-to-white range",
    tick: (v) => `${Math.round((v / 2) * 100)} %` },
};

// The shared part: panels, colour scales, distances, flip, seed picker. variant() returns the current cell.
function pairLayout(body, model, shell, variant, extraControls, onSeed) {
  let seed = 0;
  const captions = { n1: "n1: start noise", n2: "n2: changed noise", o1: "o1 = DDIM(n1)", o2: "o2 = DDIM(n2)" };
  // The heatmaps' units: noise values in standard deviations σ (the noise's is 1), outputs in % of
  // the black-to-white range (pixels run from −1 to 1, so a difference of 1 is 50 %), as on the
  // forward-and-backward page. Each quantity has one scale on both pages (pairs.py).
  const panels = {
    n1: panel(captions.n1), n2: panel(captions.n2), heat_noise: panel(NOISE_HEAT.noise.caption),
    o1: panel(captions.o1), o2: panel(captions.o2), heat_out: panel(NOISE_HEAT.output.caption),
  };
  const scales = model.heat_scales || {};
  const bar = (max, heat) => {
    if (!(max > 0)) return el("span");
    const node = ColorBar({ max, label: heat.units, vertical: true }).el;
    node.querySelectorAll(".nti-colorbar-ticks span").forEach((span, i) => { span.textContent = heat.tick([0, max / 2, max][i]); });
    node.setAttribute("aria-label", `${heat.units}: colour scale from 0 (dark) to ${heat.tick(max)} or more (bright)`);
    return node;
  };
  const grid = el("div", { class: "nti-panels nti-pairs" }, [
    panels.n1.el, panels.n2.el, panels.heat_noise.el, bar(scales.noise, NOISE_HEAT.noise),
    panels.o1.el, panels.o2.el, panels.heat_out.el, bar(scales.output, NOISE_HEAT.output),
  ]);
  const info = el("p", { class: "nti-info", "aria-live": "polite" });
  let flipTimer = null, flipFirst = false; // while flipping: whether the n2/o2 panels show n1/o1 now

  function draw() {
    const pair = model.seeds[seed];
    const cell = variant(pair);
    const first = Boolean(flipTimer) && flipFirst;
    panels.n1.draw(model, pair.n1);
    panels.o1.draw(model, pair.o1);
    panels.n2.draw(model, first ? pair.n1 : cell.n2);
    panels.o2.draw(model, first ? pair.o1 : cell.o2);
    panels.n2.setCaption(first ? captions.n1 : captions.n2);
    panels.o2.setCaption(first ? captions.o1 : captions.o2);
    for (const name of ["heat_noise", "heat_out"]) panels[name].draw(model, cell[name]);
    info.textContent = `noise distance ‖n1 − n2‖ = ${fmt(cell.noise_distance, 2)} · output distance ‖o1 − o2‖ = ${fmt(cell.output_distance, 2)}`;
    return cell;
  }
  const flip = Toggle({ label: "Flip n1/n2", onChange(on) {
    if (flipTimer) clearInterval(flipTimer);
    flipTimer = null;
    panels.n2.el.classList.toggle("nti-flipping", on);
    panels.o2.el.classList.toggle("nti-flipping", on);
    if (on) {
      flipFirst = true;
      flipTimer = setInterval(() => { flipFirst = !flipFirst; draw(); }, 700);
    }
    draw();
  } });
  flip.el.setAttribute("aria-label", "Flip n1/n2: the n2 and o2 panels alternate between n1, o1 and n2, o2");
  shell.cleanups.push(() => { if (flipTimer) clearInterval(flipTimer); flipTimer = null; });
  const controls = el("div", { class: "nti-controls" }, [...extraControls, flip.el]);
  const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(); if (onSeed) onSeed(); });
  body.append(grid, info, controls);
  return {
    panels, draw, flip, controls,
    get seed() { return seed; },
    setSeed(index) {
      if (index >= model.seeds.length || index === seed) return;
      seed = index;
      if (picker) picker.set(index);
      draw();
      if (onSeed) onSeed();
    },
  };
}

// Room beside the three panels of a row for the colour scale (figures.css .nti-colorbar-v).
const PAIR_LAYOUT = { perRow: [3, 3], reserve: 44, secondary: ".nti-gap-wrap, .nti-chart-row", views: ["Frames", "Charts"] };

export const patch_noise = {
  layout: PAIR_LAYOUT,
  create(body, model, shell) {
    const positions = model.positions;
    let position = 0;
    const variantIndex = (sizeIndex, positionIndex) => sizeIndex * positions.length + positionIndex;
    const outline = el("div", { class: "nti-patch-outline", "aria-hidden": "true" });
    const buttons = positions.map(([x, y], index) => {
      const button = el("button", { type: "button", class: "nti-button nti-pos", "aria-pressed": "false", text: `(${x}, ${y})`, "aria-label": `patch at x ${x}, y ${y}` });
      button.addEventListener("click", () => choose(index));
      return button;
    });
    const size = Slider({ label: "Patch size", min: 0, max: model.sizes.length - 1, value: 0,
      text: (i) => `${model.sizes[i]} × ${model.sizes[i]} pixels`, onChange: () => update() });
    // The buttons stand where their patches are: one column per distinct x (positions go row by row).
    const picker = el("div", { class: "nti-positions", role: "group", "aria-label": "Patch position (x, y) in pixels" },
      [el("span", { class: "nti-slider-label", text: "Patch position" }), ...buttons]);
    picker.style.setProperty("--nti-cols", new Set(positions.map(([x]) => x)).size);
    const layout = pairLayout(body, model, shell, (pair) => pair.cells[variantIndex(size.value, position)], [size.el, picker],
      () => update()); // the step chart shows this seed's sizes
    layout.panels.n2.el.querySelector(".nti-canvas-wrap").append(outline);
    const gaps = gapChart(model, "patch size", "sizes");
    if (gaps) body.append(gaps.el);
    layout.panels.n2.el.classList.add("nti-pickable");
    function update() {
      buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === position)));
      const [x, y] = positions[position];
      const s = model.sizes[size.value];
      const scale = 100 / model.image_size;
      outline.style.left = `${x * scale}%`; outline.style.top = `${y * scale}%`;
      outline.style.width = `${s * scale}%`; outline.style.height = `${s * scale}%`;
      const cell = layout.draw();
      if (gaps) gaps.show(cell, model.sizes.map((_, k) => model.seeds[layout.seed].cells[variantIndex(k, position)]));
    }
    function choose(index) { position = index; update(); }
    // live mode starts from the cell on show
    const live = lazy(model, () => import("./live-similar-noise.js").then((m) => m.LiveSimilarNoise.patch(model, { current() {
      const [x, y] = positions[position];
      return { seed: model.seeds[layout.seed].seed, size: model.sizes[size.value], x, y };
    } })));
    layout.controls.append(live.el);
    shell.cleanups.push(() => live.cancel());
    // Clicking the noise image picks the position whose patch centre is nearest to the click.
    layout.panels.n2.canvas.addEventListener("click", (event) => {
      const box = layout.panels.n2.canvas.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * model.image_size;
      const py = ((event.clientY - box.top) / box.height) * model.image_size;
      const s = model.sizes[size.value];
      let best = 0, bestDistance = Infinity;
      positions.forEach(([x, y], index) => {
        const d = (x + s / 2 - px) ** 2 + (y + s / 2 - py) ** 2;
        if (d < bestDistance) { bestDistance = d; best = index; }
      });
      choose(best);
    });
    update();
    return {
      focus: () => layout.seed,
      getState: () => ({ size: model.sizes.length > 1 ? size.value / (model.sizes.length - 1) : 0, position, seed: layout.seed }),
      setState(state) {
        if (state.seed !== undefined) layout.setSeed(state.seed);
        if (state.size !== undefined) size.set(fromFraction(state.size, model.sizes.length - 1));
        if (state.position !== undefined && state.position < positions.length) choose(state.position);
        if (state.flip !== undefined && state.flip !== layout.flip.on) layout.flip.set(state.flip);
      },
    };
  },
};

// Output distance against noise distance, both axes from 0 with round ticks.
// others: the mix curves of the other seeds, drawn faint, so the spread across seeds shows.
// live: points computed in the reader's browser (live mode), drawn as diamonds with a legend entry.
function distanceChart(mix, patch, others, live = []) {
  const W = 300, H = 168, pad = { l: 40, r: 10, t: 8, b: 32 };
  const rest = (others || []).flat();
  const all = [...mix, ...patch, ...rest, ...live];
  const points = all.map((p) => p[0]), outs = all.map((p) => p[1]);
  const xTicks = niceTicks(Math.max(1e-9, ...points), 5), yTicks = niceTicks(Math.max(1e-9, ...outs), 4);
  const xMax = xTicks[xTicks.length - 1], yMax = yTicks[yTicks.length - 1];
  const X = (v) => pad.l + (v / xMax) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - (v / yMax) * (H - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-distance-chart", role: "img",
    "aria-label": `Output distance (0 to ${tickText(yMax, yTicks)}) against noise distance (0 to ${tickText(xMax, xTicks)}): circles for mixed noise, squares for patch changes` });
  for (const v of xTicks) {
    if (v > 0) root.append(svg("line", { x1: X(v), y1: pad.t, x2: X(v), y2: H - pad.b, class: "nti-grid" }));
    root.append(svg("line", { x1: X(v), y1: H - pad.b, x2: X(v), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(v), y: H - pad.b + 13, "text-anchor": "middle", class: "nti-chart-text" }, tickText(v, xTicks)));
  }
  for (const v of yTicks) {
    if (v > 0) root.append(svg("line", { x1: pad.l, y1: Y(v), x2: W - pad.r, y2: Y(v), class: "nti-grid" }));
    root.append(svg("line", { x1: pad.l - 3, y1: Y(v), x2: pad.l, y2: Y(v), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(v) + 3.5, "text-anchor": "end", class: "nti-chart-text" }, tickText(v, yTicks)));
  }
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("text", { x: pad.l + (W - pad.l - pad.r) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "noise distance ‖n1 − n2‖"));
  root.append(svg("text", { x: 10, y: (H - pad.b + pad.t) / 2, "text-anchor": "middle", class: "nti-chart-text", transform: `rotate(-90 10 ${(H - pad.b + pad.t) / 2})` }, "output distance"));
  for (const curve of others || []) if (curve.length > 1) root.append(svg("polyline", { points: curve.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), class: "nti-seed-line" }));
  if (mix.length > 1) root.append(svg("polyline", { points: mix.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), class: "nti-series-mix-line" }));
  for (const [x, y] of patch) root.append(svg("rect", { x: X(x) - 3, y: Y(y) - 3, width: 6, height: 6, class: "nti-series-patch" }));
  for (const [x, y] of mix) root.append(svg("circle", { cx: X(x), cy: Y(y), r: 3.5, class: "nti-series-mix" }));
  for (const [x, y] of live) {
    const d = 4.5; // a diamond: no other series has one
    root.append(svg("polygon", { points: `${X(x)},${Y(y) - d} ${X(x) + d},${Y(y)} ${X(x)},${Y(y) + d} ${X(x) - d},${Y(y)}`, class: "nti-series-live" }));
  }
  const marker = svg("circle", { r: 7, class: "nti-chart-marker" });
  root.append(marker);
  if (live.length) root.setAttribute("aria-label", `${root.getAttribute("aria-label")}; ${live.length} live point${live.length === 1 ? "" : "s"} as diamonds`);
  const legend = el("p", { class: "nti-legend", text: (others && others.length ? "● mixed noise, this seed (grey: the other seeds)" : "● mixed noise (this slider)") + "   ■ patch changes (previous page)   ◯ current s" });
  if (live.length) legend.append(" ", el("span", { class: "nti-legend-live", text: "◆ live" }));
  return { el: el("div", { class: "nti-chart-wrap" }, [root, legend]), mark(x, y) { marker.setAttribute("cx", X(x)); marker.setAttribute("cy", Y(y)); } };
}

// How the two DDIM trajectories part, step by step: ‖xₜ(n1) − xₜ(n2)‖ (solid) and the distance
// between their x̂₀ estimates (dashed) for the current variant; the x̂₀ distances of the other
// variants of the same family (every s of this seed; every patch size at this position) faint.
// One y scale for every seed and variant, so switching does not rescale the chart.
function gapChart(model, label, others) {
  const cells = model.seeds.flatMap((s) => s.cells).filter((c) => c.x_gap);
  if (!cells.length) return null; // a run made before the per-step distances were recorded
  const T = cells[0].x_gap.length - 1;
  const W = 300, H = 168, pad = { l: 40, r: 10, t: 8, b: 32 };
  const yTicks = niceTicks(Math.max(1e-9, ...cells.flatMap((c) => [...c.x_gap, ...c.x0_gap])), 4);
  const yMax = yTicks[yTicks.length - 1];
  const X = (i) => pad.l + (i / Math.max(1, T)) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - (v / yMax) * (H - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-distance-chart nti-gap-chart", role: "img",
    "aria-label": `Distance between the two DDIM trajectories at each of the ${T} steps: between the two x_t and between their clean-image estimates, for the current ${label}; faint: the other ${others}` });
  for (const v of yTicks) {
    if (v > 0) root.append(svg("line", { x1: pad.l, y1: Y(v), x2: W - pad.r, y2: Y(v), class: "nti-grid" }));
    root.append(svg("line", { x1: pad.l - 3, y1: Y(v), x2: pad.l, y2: Y(v), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(v) + 3.5, "text-anchor": "end", class: "nti-chart-text" }, tickText(v, yTicks)));
  }
  for (const i of niceTicks(T, 4).filter((v) => v <= T)) {
    root.append(svg("line", { x1: X(i), y1: H - pad.b, x2: X(i), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(i), y: H - pad.b + 13, "text-anchor": "middle", class: "nti-chart-text" }, String(i)));
  }
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("text", { x: pad.l + (W - pad.l - pad.r) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "DDIM step"));
  root.append(svg("text", { x: 10, y: (H - pad.b + pad.t) / 2, "text-anchor": "middle", class: "nti-chart-text", transform: `rotate(-90 10 ${(H - pad.b + pad.t) / 2})` }, "distance"));
  const family = svg("g", { class: "nti-gap-family" });
  const xLine = svg("polyline", { class: "nti-gap-line nti-gap-x" }), x0Line = svg("polyline", { class: "nti-gap-line nti-gap-x0" });
  root.append(family, xLine, x0Line);
  const points = (values) => values.map((v, i) => `${X(i)},${Y(v)}`).join(" ");
  const legend = el("p", { class: "nti-legend nti-gap-legend" }, [
    el("span", { class: "nti-gap-key nti-gap-x", text: "‖xₜ(n1) − xₜ(n2)‖" }),
    el("span", { class: "nti-gap-key nti-gap-x0", text: "‖x̂₀(n1) − x̂₀(n2)‖" }),
    el("span", { class: "nti-gap-key nti-gap-family", text: `x̂₀ distance, other ${others}` })]);
  return {
    el: el("div", { class: "nti-chart-wrap nti-gap-wrap" }, [el("p", { class: "nti-subhead", text: "How the two trajectories part, step by step" }), root, legend]),
    show(current, variants) {
      if (!current.x_gap) return;
      family.replaceChildren(...variants.filter((c) => c !== current && c.x0_gap).map((c) => svg("polyline", { points: points(c.x0_gap), class: "nti-gap-line" })));
      xLine.setAttribute("points", points(current.x_gap));
      x0Line.setAttribute("points", points(current.x0_gap));
    },
  };
}

export const mix_noise = {
  layout: PAIR_LAYOUT,
  extra: "patch_noise.json", // the patch cells of the same model are the chart's second series
  create(body, model, shell) {
    const last = model.scales.length - 1;
    const scale = Slider({ label: "Mixing scale s", min: 0, max: last, value: 0,
      text: (i) => `s = ${model.scales[i].toFixed(2)}`, onChange: () => update() });
    const player = Player({ shell, interval: 500, tick: () => scale.set(scale.value >= last ? 0 : scale.value + 1) });
    const layout = pairLayout(body, model, shell, (pair) => pair.cells[scale.value], [scale.el, player.el],
      () => { buildChart(); update(); }); // each seed has its own distances
    const patchModel = (shell.extra ? shell.extra.models : []).find((m) => m.slug === model.slug);
    const row = el("div", { class: "nti-chart-row" }); // the two charts side by side where there is room
    body.append(row);
    let chart = null;
    const livePoints = []; // [noise distance, output distance] of each live run, kept across seeds
    const curve = (seed) => seed.cells.map((c) => [c.noise_distance, c.output_distance]);
    function chartFor(pair) {
      const patchSeed = patchModel ? (patchModel.seeds.find((s) => s.seed === pair.seed) || patchModel.seeds[0]) : null;
      return distanceChart(curve(pair), patchSeed ? curve(patchSeed) : [], model.seeds.filter((s) => s !== pair).map(curve), livePoints);
    }
    function buildChart() {
      const next = chartFor(model.seeds[layout.seed]);
      if (chart) chart.el.replaceWith(next.el); else row.prepend(next.el);
      chart = next;
    }
    const gaps = gapChart(model, "s", "values of s");
    function update() {
      const cell = layout.draw();
      chart.mark(cell.noise_distance, cell.output_distance);
      if (gaps) gaps.show(cell, model.seeds[layout.seed].cells);
    }
    buildChart();
    if (gaps) row.append(gaps.el);
    const live = lazy(model, () => import("./live-similar-noise.js").then((m) => m.LiveSimilarNoise.mix(model, {
      current: () => ({ seed: model.seeds[layout.seed].seed, scale: model.scales[scale.value] }),
      // the point joins the figure's chart, which the live panel floats over; so the panel gets its own
      // copy of the chart (the new point a diamond, the ring at the figure's s as in the figure)
      onPoint(point) {
        livePoints.push([point.noise, point.output]);
        buildChart();
        update();
        const copy = chartFor(model.seeds[layout.seed]), cell = model.seeds[layout.seed].cells[scale.value];
        copy.mark(cell.noise_distance, cell.output_distance);
        copy.el.classList.add("nti-live-chart");
        return copy.el;
      },
    })));
    layout.controls.append(live.el);
    shell.cleanups.push(() => live.cancel());
    update();
    return {
      focus: () => layout.seed,
      getState: () => ({ scale: last ? scale.value / last : 0, seed: layout.seed }),
      setState(state) {
        if (state.seed !== undefined) layout.setSeed(state.seed);
        if (state.scale !== undefined) scale.set(fromFraction(state.scale, last));
        if (state.flip !== undefined && state.flip !== layout.flip.on) layout.flip.set(state.flip);
        update();
      },
    };
  },
};
