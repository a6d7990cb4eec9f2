// Step counts: one trajectory per step count side by side on a common progress slider; then the
// final images, each with its model calls and measured time, and how far each final lands from the
// reference (the largest count): a difference heatmap, the distance, and a chart of distance
// against model calls for every seed. Slider position p of 0..P shows step steps_at[n][p] of an
// n-step run: the figure data carries that table (the build computes it once, in Python).
import { el, fmt, logAxes, niceTicks, panel, svg } from "./frames.js";
import { lazy } from "./live.js";
import { Slider } from "./slider.js";
import { ColorBar, Player, SeedPicker, fromFraction } from "./widgets.js";


// What a call cost where the run was made: the median per call, which a loaded machine skews far less
// than a total (every count costs its steps times this).
const perCall = (p) => (!p || !p.median ? "" : `, median ${p.median < 1 ? `${Math.round(p.median * 1000)} ms` : `${p.median.toFixed(2)} s`} a call${p.images ? ` of ${p.images} image${p.images === 1 ? "" : "s"}` : ""}`);
const start = (model, spacing, n) => { const s = (model.starts[spacing] || {})[n]; return s ? `from t = ${s.timestep}` : ""; };

// Distance to the reference final against model calls (log scale), one line per seed; the current
// seed is drawn strong, the others faint, so the spread across seeds is visible at a glance.
function distanceChart(model) {
  const W = 300, H = 150, pad = { l: 36, r: 10, t: 8, b: 30 };
  const others = model.counts.filter((n) => n !== model.reference);
  const values = model.seeds.flatMap((s) => others.map((n) => s.finals[n].distance)).filter((v) => typeof v === "number");
  const yTicks = niceTicks(Math.max(1e-9, ...values), 4);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-steps-chart", role: "img",
    "aria-label": `Distance of each final image to the ${model.reference}-step final, against model calls, one line per seed` });
  const { X, Y } = logAxes(root, { W, H, pad, xs: model.counts, yTicks,
    xLabel: "model calls (= steps, log scale)", yLabel: "distance to reference" });
  const lines = model.seeds.map((s) => {
    const points = model.counts.map((n) => `${X(n)},${Y(s.finals[n].distance || 0)}`).join(" ");
    const line = svg("polyline", { points, class: "nti-seed-line" });
    root.append(line);
    return line;
  });
  const dots = model.counts.map((n) => { const dot = svg("circle", { r: 3.5, cx: X(n), class: "nti-series-mix" }); root.append(dot); return dot; });
  return {
    el: root,
    show(seedIndex) {
      lines.forEach((line, i) => line.classList.toggle("nti-seed-line-current", i === seedIndex));
      const finals = model.seeds[seedIndex].finals;
      model.counts.forEach((n, i) => dots[i].setAttribute("cy", Y(finals[n].distance || 0)));
    },
  };
}

export const step_counts = {
  layout: { perRow: [5, 5], secondary: ".nti-landing, .nti-late", views: ["Frames", "Differences"] }, // panels per row (wide, phone): one per step count
  create(body, model, shell) {
    let seed = 0;
    const P = model.positions;
    // Top row: each count's trajectory at the current progress (at 100 %: its final image), captioned
    // with what it cost. Second row: where each final differs from the reference final.
    // (each step is one network call, so the step count is the cost; the time is as measured)
    const live = model.counts.map((n) => ({ n, panel: panel(`${n} step${n === 1 ? "" : "s"}\n${start(model, "trailing", n)}`, "nti-track") }));
    // The same counts with diffusers' default "leading" spacing: they start late (t = 900 for 10 steps)
    // from the same pure noise; their finals, and how far each lands from the reference.
    const late = model.leading.map((n) => ({ n, panel: panel(`${n} steps`) }));
    const diffs = model.counts.filter((n) => n !== model.reference).map((n) => ({ n, panel: panel(`${n} vs ${model.reference}`) }));
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const summary = el("p", { class: "nti-info nti-steps-summary" });
    const chart = distanceChart(model);
    function drawFinals() {
      const s = model.seeds[seed];
      for (const { n, panel: p } of diffs) {
        p.draw(model, s.finals[n].diff);
        p.setCaption(`${n} vs ${model.reference}\n${fmt(s.finals[n].distance, 1)}`);
      }
      summary.textContent = `Seed ${s.seed}, distance of each final to the ${model.reference}-step final: ` +
        diffs.map(({ n }) => `${n} steps ${fmt(s.finals[n].distance, 1)}`).join(", ");
      for (const { n, panel: p } of late) {
        p.draw(model, s.leading[n].final);
        p.setCaption(`${n} steps ${start(model, "leading", n)}\n${fmt(s.leading[n].distance, 1)} from ref.`);
      }
      chart.show(seed);
    }
    function draw(position) {
      const tracks = model.seeds[seed].tracks;
      const parts = [];
      for (const { n, panel: p } of live) {
        const i = model.steps_at[n][position];
        p.draw(model, tracks[n][i]);
        parts.push(`${n}: step ${i}`);
      }
      info.textContent = `progress ${Math.round((100 * position) / P)}% (${parts.join(", ")})`;
    }
    const slider = Slider({ label: "Progress through sampling", min: 0, max: P, value: 0,
      text: (p) => `${Math.round((100 * p) / P)}% of the way`, onChange: draw });
    const stride = Math.max(1, Math.round(P / 60));
    const player = Player({ shell, interval: 80, tick: () => slider.set(slider.value >= P ? 0 : Math.min(P, slider.value + stride)) });
    const controls = el("div", { class: "nti-controls" }, [slider.el, player.el]);
    const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); drawFinals(); });
    const colours = ColorBar({ max: model.diff_scale, label: "|final − reference| per pixel, % of black-to-white", vertical: true, range: 2 });
    // The lower part shows either how far each final lands (heatmaps, chart) or, at a press, the
    // same counts started late: one at a time, so the figure keeps its height and stays pinned.
    const landing = el("div", { class: "nti-landing" }, [
      el("p", { class: "nti-subhead", text: `Where each final differs from the ${model.reference}-step final` }),
      el("div", { class: "nti-panels nti-diffs" }, [...diffs.map((t) => t.panel.el), colours.el]), summary, chart.el]);
    const lateStart = el("div", { class: "nti-late", hidden: true }, [
      el("p", { class: "nti-subhead", text: "The same noise with diffusers’ default “leading” spacing: a late first step" }),
      el("div", { class: "nti-panels nti-leading" }, late.map((t) => t.panel.el))]);
    if (late.length) {
      const toggle = el("button", { type: "button", class: "nti-button nti-reveal", "aria-pressed": "false", text: "Late start" });
      toggle.addEventListener("click", () => {
        const on = toggle.getAttribute("aria-pressed") !== "true";
        toggle.setAttribute("aria-pressed", String(on));
        lateStart.hidden = !on;
        landing.hidden = on;
      });
      controls.append(toggle);
    }
    body.append(el("p", { class: "nti-subhead", text: `Each step is one network call${perCall(model.per_call)}` }),
      el("div", { class: "nti-panels" }, live.map((t) => t.panel.el)), info, controls, landing, lateStart);
    const liveMode = lazy(model, () => import("./live-ui.js").then((m) => m.LiveReverse(model))); // any seed, any step count, DDIM or DDPM, in the browser
    shell.cleanups.push(() => { if (liveMode.cancel) liveMode.cancel(); });
    controls.append(liveMode.el);
    draw(0);
    drawFinals();
    return {
      focus: () => seed,
      getState: () => ({ progress: slider.value / P, seed }),
      setState(state) {
        if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); draw(slider.value); drawFinals(); }
        if (state.progress !== undefined) slider.set(fromFraction(state.progress, P));
      },
    };
  },
};
