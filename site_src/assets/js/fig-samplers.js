// Samplers: one trajectory per sampler from the same start noise at the chosen budget of network
// calls, on a common progress slider, beside the converged image (DDIM with many steps); then where
// each final differs from it, and a chart of that distance against network calls, one line per
// sampler; and the noise level σ of every network call at that budget. Slider position p of 0..P
// shows step steps_at[sampler][budget][p]: the figure data carries that table (the build computes it
// once, in Python), and the σ of every call (the manifest's call_sigmas).
import { el, fmt, logAxes, niceTicks, panel, svg } from "./frames.js";
import { Slider } from "./slider.js";
import { ColorBar, Player, SeedPicker, fromFraction } from "./widgets.js";


// Distance to the converged image against network calls (log scale), one line per sampler for
// the seed on screen; a ring marks the current budget. Each sampler has its own colour and dash
// (lessons.css), and a legend names them. A sampler whose finals are another's (model.identical:
// Euler's are DDIM's) would hide under it: the one below is drawn wide, the other dashed on top,
// and the legend says "identical to".
function distanceChart(model) {
  const W = 320, H = 140, pad = { l: 36, r: 10, t: 8, b: 30 };
  const values = model.seeds.flatMap((s) => model.samplers.flatMap((k) => model.budgets.map((b) => s.finals[k.kind][b].distance)));
  const yTicks = niceTicks(Math.max(1e-9, ...values), 4);
  const identical = model.identical || {};
  const under = new Set(Object.values(identical));
  const nameOf = (kind) => (model.samplers.find((k) => k.kind === kind) || { name: kind }).name;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-samplers-chart", role: "img",
    "aria-label": `Distance of each sampler's final image to the converged image (DDIM, ${model.reference} steps), against network calls` });
  const { X, Y } = logAxes(root, { W, H, pad, xs: model.budgets, yTicks,
    xLabel: "network calls (log scale)", yLabel: "distance to converged" });
  const role = (k) => (identical[k.kind] ? " nti-sampler-over" : under.has(k.kind) ? " nti-sampler-under" : "");
  const lines = model.samplers.map((k) => { const line = svg("polyline", { class: `nti-sampler-line nti-sampler-${k.kind}${role(k)}` }); root.append(line); return line; });
  const rings = model.samplers.map((k) => { const ring = svg("circle", { r: identical[k.kind] ? 2 : 3.5, class: `nti-sampler-dot nti-sampler-${k.kind}${role(k)}` }); root.append(ring); return ring; });
  const legend = el("p", { class: "nti-legend nti-sampler-legend" }, model.samplers.map((k) =>
    el("span", { class: `nti-sampler-key nti-sampler-${k.kind}${role(k)}`,
      text: identical[k.kind] ? `${k.name} (identical to ${nameOf(identical[k.kind])})` : k.name })));
  return {
    el: el("div", { class: "nti-samplers-chart-wrap nti-distance-wrap" }, [root, legend]),
    show(seedIndex, budget) {
      const finals = model.seeds[seedIndex].finals;
      root.setAttribute("aria-label", `Distance of each sampler's final image to the converged image (DDIM, ${model.reference} steps), ` +
        `against network calls, seed ${model.seeds[seedIndex].seed}; with ${budget} calls: ` +
        model.samplers.map((k) => `${k.name} ${fmt(finals[k.kind][budget].distance, 1)}`).join(", "));
      model.samplers.forEach((k, i) => {
        lines[i].setAttribute("points", model.budgets.map((b) => `${X(b)},${Y(finals[k.kind][b].distance)}`).join(" "));
        rings[i].setAttribute("cx", X(budget));
        rings[i].setAttribute("cy", Y(finals[k.kind][budget].distance));
      });
    },
  };
}

// The noise level σ of every network call at the chosen budget (log scale), one series per set of
// samplers that call at the same levels (DDIM, Euler, DPM-Solver++ and DDPM share theirs; Heun calls
// twice at each level). A note at Heun's second call gives its corrector's factor (σ₀ − σ₁) / 2σ₁,
// model.heun_factor, which the page's Heun step explains.
function sigmaChart(model) {
  const W = 320, H = 140, pad = { l: 40, r: 10, t: 8, b: 30 };
  const all = Object.values(model.call_sigmas).flatMap((byBudget) => Object.values(byBudget).flat()).filter((s) => s > 0);
  const lo = Math.floor(Math.log10(Math.min(...all))), hi = Math.ceil(Math.log10(Math.max(...all)));
  const Y = (s) => H - pad.b - ((Math.log10(s) - lo) / Math.max(1, hi - lo)) * (H - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-sigma-chart", role: "img" });
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  const every = hi - lo > 4 ? 2 : 1;
  for (let e = lo; e <= hi; e += every) {
    root.append(svg("line", { x1: pad.l - 3, y1: Y(10 ** e), x2: pad.l, y2: Y(10 ** e), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(10 ** e) + 3, "text-anchor": "end", class: "nti-chart-text" },
      e >= 0 && e <= 3 ? String(10 ** e) : e < 0 && e >= -2 ? (10 ** e).toFixed(-e) : `1e${e}`));
  }
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "network call"));
  root.append(svg("text", { x: 10, y: (H - pad.b) / 2, "text-anchor": "middle", class: "nti-chart-text",
    transform: `rotate(-90 10 ${(H - pad.b) / 2})` }, "noise level σ (log)"));
  const layer = svg("g", {});
  root.append(layer);
  const legend = el("p", { class: "nti-legend nti-sampler-legend" });
  return {
    el: el("div", { class: "nti-samplers-chart-wrap nti-sigma-wrap" }, [root, legend]),
    show(budget) {
      // samplers that call at the same levels at this budget share one series
      const groups = [];
      for (const k of model.samplers) {
        const sigmas = model.call_sigmas[k.kind][budget];
        const same = groups.find((g) => g.sigmas.length === sigmas.length && g.sigmas.every((s, i) => s === sigmas[i]));
        if (same) same.kinds.push(k); else groups.push({ sigmas, kinds: [k] });
      }
      const calls = Math.max(...groups.map((g) => g.sigmas.length));
      const X = (i) => pad.l + 6 + (calls > 1 ? (i / (calls - 1)) * (W - pad.l - pad.r - 12) : 0);
      layer.replaceChildren();
      for (const i of [0, calls - 1]) {
        layer.append(svg("line", { x1: X(i), y1: H - pad.b, x2: X(i), y2: H - pad.b + 3, class: "nti-axis" }));
        layer.append(svg("text", { x: X(i), y: H - pad.b + 12, "text-anchor": "middle", class: "nti-chart-text" }, String(i + 1)));
      }
      const parts = [];
      for (const g of groups) {
        const cls = g.kinds.some((k) => k.kind === "heun") ? "heun" : g.kinds[0].kind;
        const points = g.sigmas.map((s, i) => [X(i), Y(s)]).filter((_, i) => g.sigmas[i] > 0);
        layer.append(svg("polyline", { class: `nti-sampler-line nti-sigma-line nti-sampler-${cls}`, points: points.map((p) => p.join(",")).join(" ") }));
        for (const [x, y] of points) layer.append(svg("circle", { cx: x, cy: y, r: 1.8, class: `nti-sampler-dot nti-sampler-${cls}` }));
        parts.push(`${g.kinds.map((k) => k.name).join(", ")}: σ ${g.sigmas.map((s) => fmt(s, s < 10 ? 2 : 0)).join(", ")}`);
      }
      const heun = groups.find((g) => g.kinds.some((k) => k.kind === "heun"));
      const factor = (model.heun_factor || {})[budget];
      if (heun && factor && heun.sigmas.length > 1) {
        // a ring on Heun's second call, and its factor in the empty top right
        layer.append(svg("circle", { cx: X(1), cy: Y(heun.sigmas[1]), r: 4.5, class: "nti-sigma-ring nti-sampler-heun" }));
        layer.append(svg("text", { x: W - pad.r, y: pad.t + 10, "text-anchor": "end", class: "nti-chart-text nti-sigma-note nti-sampler-heun" },
          `Heun at σ₁ = ${fmt(heun.sigmas[1], heun.sigmas[1] < 10 ? 2 : 0)}: × ${Math.round(factor)}`));
      }
      legend.replaceChildren(...groups.map((g) => el("span", {
        class: `nti-sampler-key nti-sampler-${g.kinds.some((k) => k.kind === "heun") ? "heun" : g.kinds[0].kind}`,
        text: g.kinds.map((k) => k.name.split(" (")[0]).join(", ") })));
      root.setAttribute("aria-label", `Noise level σ of every network call with ${budget} calls (log scale). ${parts.join("; ")}`);
    },
  };
}

export const samplers = {
  layout: { perRow: [3, 3], secondary: [".nti-diff-block", ".nti-distance-wrap", ".nti-sigma-wrap"], views: ["Frames", "Heatmaps", "Distances", "Step sizes"] }, // five samplers and the converged image; three a row on a phone
  create(body, model, shell) {
    let seed = 0, budgetIndex = Math.min(2, model.budgets.length - 1);
    const P = model.positions;
    const budget = () => model.budgets[budgetIndex];
    const live = model.samplers.map((k) => ({ k, panel: panel(k.name, "nti-track") }));
    const converged = panel(`converged\nDDIM ${model.reference} steps`);
    const diffs = model.samplers.map((k) => ({ k, panel: panel(k.name) }));
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const chart = distanceChart(model), sigmas = sigmaChart(model);
    function drawFinals() {
      const s = model.seeds[seed], b = budget();
      converged.draw(model, s.reference);
      for (const { k, panel: p } of diffs) {
        const final = s.finals[k.kind][b];
        p.draw(model, final.diff);
        p.setCaption(`${k.name}\n${fmt(final.distance, 1)}`);
      }
      chart.show(seed, b);
      sigmas.show(b);
    }
    function draw(position) {
      const s = model.seeds[seed], b = budget();
      const parts = new Map(); // "step i of n" -> the samplers at it: one line, not five
      for (const { k, panel: p } of live) {
        const n = model.steps[k.kind][b], i = model.steps_at[k.kind][b][position];
        p.draw(model, s.tracks[k.kind][b][i]);
        p.setCaption(`${k.name}\n${n} step${n === 1 ? "" : "s"}`);
        const at = `step ${i} of ${n}`;
        parts.set(at, [...(parts.get(at) || []), k.name]);
      }
      info.textContent = `progress ${Math.round((100 * position) / P)}%: ` +
        [...parts].map(([at, names]) => `${at} (${names.join(", ")})`).join("; ");
    }
    const slider = Slider({ label: "Progress through sampling", min: 0, max: P, value: 0,
      text: (p) => `${Math.round((100 * p) / P)}% of the way`, onChange: draw });
    const budgets = Slider({ label: "Network calls per sampler", min: 0, max: model.budgets.length - 1, value: budgetIndex,
      text: (i) => `${model.budgets[i]} calls`, onChange: (i) => { budgetIndex = i; draw(slider.value); drawFinals(); } });
    const stride = Math.max(1, Math.round(P / 60));
    const player = Player({ shell, interval: 80, tick: () => slider.set(slider.value >= P ? 0 : Math.min(P, slider.value + stride)) });
    const controls = el("div", { class: "nti-controls" }, [slider.el, player.el, budgets.el]);
    const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); drawFinals(); });
    const colours = ColorBar({ max: model.diff_scale, label: "|final − converged| per pixel, % of black-to-white", vertical: true, range: 2 });
    body.append(el("div", { class: "nti-panels" }, [...live.map((t) => t.panel.el), converged.el]), info, controls,
      el("div", { class: "nti-diff-block" }, [
        el("p", { class: "nti-subhead", text: "Where each final differs from the converged image" }),
        el("div", { class: "nti-panels nti-diffs" }, [...diffs.map((t) => t.panel.el), colours.el])]),
      el("div", { class: "nti-samplers-charts" }, [chart.el, sigmas.el]));
    draw(0);
    drawFinals();
    return {
      focus: () => seed,
      getState: () => ({ progress: slider.value / P, seed, budget: budgetIndex }),
      setState(state) {
        if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); }
        if (state.budget !== undefined) budgets.set(Math.max(0, Math.min(model.budgets.length - 1, state.budget)));
        if (state.progress !== undefined) slider.set(fromFraction(state.progress, P));
        draw(slider.value);
        drawFinals();
      },
    };
  },
};
