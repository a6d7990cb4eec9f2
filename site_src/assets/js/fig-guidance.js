// Guidance: a class picker and a guidance-scale slider pick one (class, w) cell of the grid; its
// seeds' trajectories stand side by side under one step slider, xₜ above and the clean-image
// estimate x̂₀ below; under each final, the class the model's classifier finds in it. A chart
// shows what the scale does over the whole grid (every class and seed): the classifier's accuracy,
// the diversity across seeds (as a share of the plain conditional model's, w = 1: at w = 0 the seeds
// draw different classes, so their spread says nothing about guidance) and the pixel values at full
// white (the overshoot; full black is mostly background), the current scale marked. Live mode samples any class and scale in the browser (live-guidance.js).
import { el, panel, svg } from "./frames.js";
import { lazy } from "./live.js";
import { Slider } from "./slider.js";
import { Picker, Player, fromFraction } from "./widgets.js";

const pct = (v) => (v === null || v === undefined ? "n/a" : `${Math.round(100 * v)} %`);
const wText = (w) => `w = ${Number(w).toString()}`;

// Three measures against the guidance scale, each in % (accuracy, diversity as % of w = 1, pixel
// values at full white); x: the scales at equal spacing (they are not evenly spread, and the axis says so).
function scaleChart(model) {
  const W = 320, H = 168, pad = { l: 40, r: 10, t: 8, b: 44 }; // l: room for "100%" at a phone's 11 px
  const n = model.scales.length;
  const X = (i) => pad.l + (n > 1 ? (i / (n - 1)) * (W - pad.l - pad.r) : 0);
  const Y = (v) => H - pad.b - Math.max(0, Math.min(1, v)) * (H - pad.t - pad.b);
  const plain = model.per_scale[Math.max(0, model.scales.indexOf(1))];
  const base = plain.diversity || 1;
  const series = [
    { key: "accuracy", name: "classifier says: class asked for", cls: "nti-series-a", value: (r) => r.accuracy },
    // from w = 1 on only: below it the seeds need not draw the class asked for, so their spread is another thing
    { key: "diversity", name: `diversity across seeds (% of ${wText(plain.scale)}, from there on)`, cls: "nti-series-b",
      value: (r) => (r.scale >= plain.scale ? r.diversity / base : null), optional: true },
    { key: "white", name: "pixel values at full white", cls: "nti-series-c", value: (r) => r.white },
  ].filter((s) => model.per_scale.every((r) => typeof s.value(r) === "number" || (s.optional && s.value(r) === null)));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-guidance-chart", role: "img",
    "aria-label": "Against the guidance scale: " + series.map((s) => `${s.name}: ${model.per_scale.map((r, i) => `${wText(model.scales[i])} ${pct(s.value(r))}`).join(", ")}`).join("; ") });
  for (const v of [0, 0.5, 1]) {
    root.append(svg("line", { x1: pad.l, y1: Y(v), x2: W - pad.r, y2: Y(v), class: v ? "nti-grid" : "nti-axis" }));
    // "0%" sits on its line rather than centred on it, clear of the first scale's label below it (a phone's 11 px text)
    root.append(svg("text", { x: pad.l - 4, y: Y(v) + (v ? 3.5 : 0), "text-anchor": "end", class: "nti-chart-text" }, `${Math.round(v * 100)}%`));
  }
  model.scales.forEach((w, i) => {
    root.append(svg("line", { x1: X(i), y1: H - pad.b, x2: X(i), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(i), y: H - pad.b + 15, "text-anchor": "middle", class: "nti-chart-text" }, String(w)));
  });
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - pad.b + 29, "text-anchor": "middle", class: "nti-chart-text" }, "guidance scale w (evenly spaced)"));
  const marker = svg("line", { y1: pad.t, y2: H - pad.b, class: "nti-chart-marker" });
  root.append(marker);
  for (const s of series) {
    const shown = model.per_scale.map((r, i) => [i, s.value(r)]).filter(([, v]) => v !== null);
    root.append(svg("polyline", { points: shown.map(([i, v]) => `${X(i)},${Y(v)}`).join(" "), class: `nti-line ${s.cls}` }));
    shown.forEach(([i, v]) => root.append(svg("circle", { cx: X(i), cy: Y(v), r: 2.5, class: s.cls })));
  }
  const legend = el("ul", { class: "nti-legend" }, series.map((s) => el("li", { class: s.cls, text: s.name })));
  return { el: el("div", { class: "nti-guidance-measures" }, [root, legend]), mark(i) { marker.setAttribute("x1", X(i)); marker.setAttribute("x2", X(i)); } };
}

export const guidance = {
  layout: { perRow: [4, 4], secondary: ".nti-guidance-measures", views: ["Frames", "What w does"] },
  // (the figure's root gets .nti-guidance: its captions keep to their lines, see figures.css)
  create(body, model, shell) {
    shell.root.classList.add("nti-guidance");
    let label = 0, scale = Math.max(0, model.scales.indexOf(1)), step = model.steps;
    const seeds = model.seeds.map((s) => ({ s, x: panel(`seed ${s}`), x0: panel(`seed ${s}: x̂₀`) }));
    const info = el("p", { class: "nti-info nti-one-line", "aria-live": "polite" });
    const chart = scaleChart(model);
    const name = (k) => model.class_names[k] ?? String(model.labels[k]);
    // Every caption two lines and every status one line, whatever the step: the text's steps move the
    // figure, and a caption or a line that grew would push the controls below it (a layout shift).
    function draw() {
      const cell = model.cells[label][scale], last = step === model.steps;
      let right = 0;
      cell.seeds.forEach((t, i) => {
        seeds[i].x.draw(model, t.x[step]);
        seeds[i].x0.draw(model, t.x0[Math.min(step, model.steps - 1)]);
        const known = last && t.found !== null && t.found !== undefined;
        if (known && t.found === model.labels[label]) right += 1;
        seeds[i].x.setCaption(`seed ${model.seeds[i]}\n${known ? `${t.found === model.labels[label] ? "✓" : "✗"} ${name(model.labels.indexOf(t.found))}` : "\u00a0"}`);
        seeds[i].x0.setCaption(`x̂₀, step ${Math.min(step, model.steps - 1)}`);
      });
      const found = last && model.classifier ? `, ${right} of ${cell.seeds.length} ✓` : "";
      info.textContent = `${name(label)}, ${wText(model.scales[scale])}: ${last ? `finished${found}` : `step ${step} of ${model.steps}, t = ${model.timesteps[step]}`}`;
      chart.mark(scale);
    }
    const stepSlider = Slider({ label: "Sampling step", min: 0, max: model.steps, value: step,
      text: (i) => (i === model.steps ? `finished (${i} of ${model.steps})` : `step ${i} of ${model.steps}`), onChange: (i) => { step = i; draw(); } });
    const scaleSlider = Slider({ label: "Guidance scale", min: 0, max: model.scales.length - 1, value: scale,
      text: (i) => `${wText(model.scales[i])}${model.scales[i] === 0 ? " (class ignored)" : model.scales[i] === 1 ? " (plain conditional)" : ""}`,
      onChange: (i) => { scale = i; draw(); } });
    const classes = Picker({ label: "Class", options: model.labels.map((_, k) => name(k)), value: label, onChange: (k) => { label = k; draw(); } });
    const player = Player({ shell, interval: 120, tick: () => stepSlider.set(stepSlider.value >= model.steps ? 0 : stepSlider.value + 1) });
    // any class and any w in the reader's browser, both branches in one call a step (live-guidance.js)
    const live = lazy(model, () => import("./live-guidance.js").then((m) => m.LiveGuidance(model, {
      current: () => ({ label: model.labels[label], scale: model.scales[scale] }) })));
    shell.cleanups.push(() => { if (live.cancel) live.cancel(); });
    const controls = el("div", { class: "nti-controls" }, [scaleSlider.el, classes.el, stepSlider.el, player.el, live.el]);
    // the controls first: compact, the views take turns below them, and the sliders stay put
    body.append(controls, info,
      el("div", { class: "nti-panels" }, seeds.map((p) => p.x.el)),
      el("div", { class: "nti-panels" }, seeds.map((p) => p.x0.el)),
      chart.el);
    draw();
    return {
      focus: () => label,
      getState: () => ({ progress: step / model.steps, scale, label }),
      setState(state) {
        if (state.label !== undefined && state.label < model.labels.length) { label = state.label; classes.set(label); }
        if (state.scale !== undefined && state.scale < model.scales.length) { scale = state.scale; scaleSlider.set(scale); }
        if (state.progress !== undefined) { step = fromFraction(state.progress, model.steps); stepSlider.set(step); }
        draw();
      },
    };
  },
};
