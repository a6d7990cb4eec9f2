// Noise schedules: alpha_bar and SNR (dB) against t for the linear and the cosine schedule (closed
// form, from the manifest's axes), a t slider over the precomputed levels showing the clean image
// and the same image noised at t under both schedules (one noise draw), then the x0 estimates at t:
// with a v target and with an eps target off by the same error, under both schedules, each captioned
// with its RMS error against the clean image. One of the two is the model's own (measured_panel).
import { el, fmt, panel, svg, tickText } from "./frames.js";
import { Slider } from "./slider.js";
import { SeedPicker } from "./widgets.js";

// alpha_bar spans 1 to 1e-9: three decimals while that says something, then powers of ten
const num = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(1));
// an RMS error on the pixel scale -1 .. 1, as the page's text quotes it (schedules.md.j2 `rms`):
// whole numbers with thousands separators from 100 (the eps what-if reaches tens of thousands)
const db = (v) => `${fmt(v, 1).replace("-", "−")} dB`; // a minus sign, not a hyphen
const rms = (v) => (v >= 100 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2));

// One chart: `series` of the manifest's curves against t on a linear x, both schedules, a vertical
// line and a dot per schedule at the current level. `ticks` for y; `marks` are labelled guides.
function curveChart(model, { series, label, yTicks, marks }) {
  // The y-axis title sits above the plot, right of the tick labels (pad.t): rotated beside them it ran
  // into them on a phone, where chart text keeps its 11 CSS px on a chart drawn smaller.
  const W = 240, H = 150, pad = { l: 44, r: 14, t: 20, b: 34 }; // b: room between the tick labels and "t" on a phone
  const t = model.curves.t, tMax = model.steps - 1;
  const lo = yTicks[0], hi = yTicks[yTicks.length - 1];
  const X = (v) => pad.l + (v / tMax) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-schedules-chart", role: "img",
    "aria-label": `${label} against t, linear and cosine schedules` });
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  for (const v of [0, 250, 500, 750, tMax]) {
    root.append(svg("line", { x1: X(v), y1: H - pad.b, x2: X(v), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(v), y: H - pad.b + 12, "text-anchor": "middle", class: "nti-chart-text" }, String(v)));
  }
  // more than seven ticks (SNR every 20 dB): every other one labelled, 0 among them (on a phone nine
  // labels touched each other)
  const sparse = yTicks.length > 7 ? 2 * (yTicks[1] - yTicks[0]) : 0;
  yTicks.forEach((v) => {
    root.append(svg("line", { x1: pad.l - 3, y1: Y(v), x2: pad.l, y2: Y(v), class: "nti-axis" }));
    if (!sparse || Math.abs(v % sparse) < 1e-9) {
      root.append(svg("text", { x: pad.l - 5, y: Y(v) + 3, "text-anchor": "end", class: "nti-chart-text" }, tickText(v, yTicks)));
    }
  });
  for (const m of marks || []) {
    root.append(svg("line", { x1: pad.l, y1: Y(m), x2: W - pad.r, y2: Y(m), class: "nti-schedules-guide" }));
    // where no curve passes: 0 dB above its line at the right end (both curves are below it there),
    // lower guides under their line at the left (both curves start high); beside the y axis they lay on the curves
    const right = m >= 0;
    root.append(svg("text", { x: right ? W - pad.r - 10 : pad.l + 4, y: right ? Y(m) - 3 : Y(m) + 11,
      "text-anchor": right ? "end" : "start", class: "nti-chart-text nti-schedules-guide-text" }, `${String(m).replace("-", "−")} dB`));
  }
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "t"));
  root.append(svg("text", { x: pad.l + 4, y: 12, "text-anchor": "start", class: "nti-chart-text" }, label));
  const cursor = svg("line", { y1: pad.t, y2: H - pad.b, class: "nti-schedules-cursor" });
  root.append(cursor);
  const dots = model.schedules.map((s) => {
    root.append(svg("polyline", { class: `nti-schedule-line nti-schedule-${s.kind}`,
      points: t.map((v, i) => `${X(v).toFixed(1)},${Y(model.curves[series][s.kind][i]).toFixed(1)}`).join(" ") }));
    const dot = svg("circle", { r: 3.5, class: `nti-schedule-dot nti-schedule-${s.kind}` });
    return dot;
  });
  dots.forEach((dot) => root.append(dot));
  return {
    el: root,
    show(index) {
      const level = model.levels[index];
      cursor.setAttribute("x1", X(level));
      cursor.setAttribute("x2", X(level));
      model.schedules.forEach((s, i) => {
        dots[i].setAttribute("cx", X(level));
        dots[i].setAttribute("cy", Y(model.at_levels[s.kind][series][index]));
      });
    },
  };
}

// SNR ticks: every 20 dB from below the lowest point to above the highest
function dbTicks(model) {
  const all = model.schedules.flatMap((s) => model.curves.snr_db[s.kind]).filter((v) => v !== null);
  const ticks = [];
  for (let v = Math.floor(Math.min(...all) / 20) * 20; v <= Math.ceil(Math.max(...all) / 20) * 20; v += 20) ticks.push(v);
  return ticks;
}

export const schedules = {
  layout: { perRow: [4, 4], secondary: ".nti-estimate-block", views: ["Noised", "Estimates"] }, // the four x0 estimates in a row; the clean and noised images above
  create(body, model) {
    let seed = 0;
    const L = model.levels.length;
    const own = model.measured_panel; // the model's own estimate; the other is the what-if
    const what = (target) => (target === "x0_v" ? "v target" : "ε target") + (own === target ? "" : " (what-if)");
    const clean = panel("clean x₀");
    const noised = model.schedules.map((s) => ({ s, panel: panel(`${s.name} xₜ`) }));
    const estimates = model.schedules.flatMap((s) => ["x0_v", "x0_eps"].map((p) => ({ s, p, panel: panel(`${s.name}, ${what(p)}`) })));
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const alphaChart = curveChart(model, { series: "alpha_bar", label: "ᾱ (signal power left)", yTicks: [0, 0.25, 0.5, 0.75, 1] });
    const snrChart = curveChart(model, { series: "snr_db", label: "SNR (dB)", yTicks: dbTicks(model), marks: [0, -20] });
    const legend = el("p", { class: "nti-legend nti-schedule-legend" }, model.schedules.map((s) =>
      el("span", { class: `nti-schedule-key nti-schedule-${s.kind}`, text: s.name + (s.kind === model.model_schedule ? " (this model's)" : "") })));
    function draw(index) {
      const s = model.seeds[seed], level = model.levels[index];
      clean.draw(model, s.source);
      for (const { s: k, panel: p } of noised) {
        p.draw(model, s.tracks[k.kind].noised[index]);
        p.setCaption(`${k.name} xₜ\n${db(model.at_levels[k.kind].snr_db[index])}`);
      }
      for (const { s: k, p, panel: q } of estimates) {
        q.draw(model, s.tracks[k.kind][p][index]);
        q.setCaption(`${k.name}, ${what(p)}\nRMS error ${rms(s.rms[k.kind][p][index])}`);
      }
      alphaChart.show(index);
      snrChart.show(index);
      info.textContent = `t = ${level}: ` + model.schedules.map((k) => `${k.name} ᾱ = ${num(model.at_levels[k.kind].alpha_bar[index])}` +
        ` (SNR ${db(model.at_levels[k.kind].snr_db[index])}), x₀ error v ${rms(s.rms[k.kind].x0_v[index])}, ε ${rms(s.rms[k.kind].x0_eps[index])}`).join("; ");
    }
    const slider = Slider({ label: "Noise level t", min: 0, max: L - 1, value: 0,
      text: (i) => `t = ${model.levels[i]}`, onChange: draw });
    const controls = el("div", { class: "nti-controls" }, [slider.el]);
    const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
    body.append(el("div", { class: "nti-schedules-charts" }, [alphaChart.el, snrChart.el]), legend,
      controls,
      el("div", { class: "nti-panels" }, [clean.el, ...noised.map((n) => n.panel.el)]),
      el("div", { class: "nti-estimate-block" }, [
        el("p", { class: "nti-subhead", text: "The clean-image estimate at t, with each target (error: RMS against x₀, pixel values from −1 to 1)" }),
        el("div", { class: "nti-panels nti-estimates" }, estimates.map((e) => e.panel.el))]),
      info);
    draw(0);
    // the level nearest a t the text asks for
    const nearest = (t) => model.levels.reduce((best, v, i) => (Math.abs(v - t) < Math.abs(model.levels[best] - t) ? i : best), 0);
    return {
      focus: () => seed,
      getState: () => ({ t: model.levels[slider.value], seed }),
      setState(state) {
        if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); }
        if (state.t !== undefined) slider.set(nearest(state.t));
        draw(slider.value);
      },
    };
  },
};
