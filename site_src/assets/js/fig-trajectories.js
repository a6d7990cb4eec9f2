// Where trajectories go: every seed's x_t path and x0-estimate path on one PCA plane (fitted by the
// build on all states of the run: trajectories/figure.py), the current step marked on every path,
// the chosen seed's paths drawn bold; beside it that seed's x_t, x0 estimate and final image. Both
// axes share one scale, so distances on the plane are not stretched. A path is also a button for
// its seed (the seed picker is the keyboard way). A scale bar gives the plane's unit: the distance
// between images (pixel values from -1 to 1) that the text quotes.
import { el, fmt, panel, svg } from "./frames.js";
import { Slider } from "./slider.js";
import { Player, SeedPicker, seedStepState } from "./widgets.js";


function plane(model, onPick) {
  const W = 360, H = 280, pad = { l: 30, r: 10, t: 10, b: 30 };
  const all = [...model.points.x.flat(), ...model.points.x0.flat()];
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const k = Math.min((W - pad.l - pad.r) / Math.max(1e-9, x1 - x0), (H - pad.t - pad.b) / Math.max(1e-9, y1 - y0));
  // one scale for both axes, the cloud centred in the plot area along the axis with room to spare
  const left = pad.l + (W - pad.l - pad.r - k * (x1 - x0)) / 2, bottom = pad.b + (H - pad.t - pad.b - k * (y1 - y0)) / 2;
  const X = (p) => left + k * (p[0] - x0), Y = (p) => H - bottom - k * (p[1] - y0);
  const pct = (v) => `${Math.round(100 * v)} %`;
  // A scale bar: the plane's units are the text's distances (pixel values from -1 to 1), so a
  // bar of a round length, about a fifth of the plot, lets the reader measure them on the plane.
  const span = (W - pad.l - pad.r) / k / 5;
  const unit = [1, 2, 5, 10, 20, 50, 100, 200, 500].filter((v) => v <= span).pop() || span;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-traj-chart", role: "img",
    "aria-label": `The x_t and x0-estimate trajectories of ${model.seeds.length} seeds on the plane of the first two principal axes (together ${pct(model.explained[0] + model.explained[1])} of the variance); the current step is marked on every path` });
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - 8, "text-anchor": "middle", class: "nti-chart-text" }, `axis 1 (${pct(model.explained[0])} of the variance)`));
  root.append(svg("text", { x: 12, y: (H - pad.b) / 2, "text-anchor": "middle", class: "nti-chart-text", transform: `rotate(-90 12 ${(H - pad.b) / 2})` }, `axis 2 (${pct(model.explained[1])})`));
  const barRight = W - pad.r - 4, barY = pad.t + 8;
  root.append(svg("line", { x1: barRight - k * unit, y1: barY, x2: barRight, y2: barY, class: "nti-traj-scale" }));
  root.append(svg("text", { x: barRight, y: barY + 12, "text-anchor": "end", class: "nti-chart-text" }, `distance ${fmt(unit, unit < 1 ? 1 : 0)}`));
  const path = (points) => points.map((p) => `${X(p).toFixed(1)},${Y(p).toFixed(1)}`).join(" ");
  const seeds = model.seeds.map((s, n) => {
    const group = svg("g", { class: "nti-traj-seed", "data-seed": s.seed });
    const xLine = svg("polyline", { class: "nti-traj-line nti-traj-x", points: path(model.points.x[n]) });
    const x0Line = svg("polyline", { class: "nti-traj-line nti-traj-x0", points: path(model.points.x0[n]) });
    const start = svg("circle", { r: 2.2, class: "nti-traj-start", cx: X(model.points.x[n][0]), cy: Y(model.points.x[n][0]) });
    const xDot = svg("circle", { r: 2.6, class: "nti-traj-dot nti-traj-x" });
    const x0Dot = svg("circle", { r: 2.6, class: "nti-traj-dot nti-traj-x0" });
    group.append(xLine, x0Line, start, xDot, x0Dot);
    group.addEventListener("click", () => onPick(n));
    root.append(group);
    return { group, xDot, x0Dot };
  });
  const legend = el("p", { class: "nti-legend nti-traj-legend" }, [
    el("span", { class: "nti-traj-key nti-traj-x", text: "xₜ path" }),
    el("span", { class: "nti-traj-key nti-traj-x0", text: "x̂₀ path" }),
    el("span", { class: "nti-traj-key nti-traj-start", text: "start noise" }),
    el("span", { class: "nti-traj-key nti-traj-scale", text: "scale: distance between images, pixel values −1 to 1" })]);
  return {
    el: el("div", { class: "nti-traj-chart-wrap" }, [root, legend]),
    show(step, chosen) {
      seeds.forEach((s, n) => {
        const p = model.points.x[n][step], q = model.points.x0[n][step];
        s.xDot.setAttribute("cx", X(p)); s.xDot.setAttribute("cy", Y(p));
        s.x0Dot.setAttribute("cx", X(q)); s.x0Dot.setAttribute("cy", Y(q));
        s.group.classList.toggle("nti-current", n === chosen);
      });
      root.append(seeds[chosen].group); // drawn last: on top
    },
  };
}

export const trajectories = {
  layout: { perRow: [3, 3], secondary: ".nti-traj-chart-wrap", views: ["Frames", "Chart"] },
  create(body, model, shell) {
    let seed = 0;
    const last = model.steps - 1;
    const panels = { x: panel("xₜ"), x0: panel("x̂₀: the estimate"), final: panel("the final image") };
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    let picker = null;
    const chart = plane(model, (n) => { seed = n; if (picker) picker.set(n); draw(slider.value); });
    function draw(i) {
      const track = model.seeds[seed];
      panels.x.draw(model, track.x[i]);
      panels.x0.draw(model, track.x0[i]);
      panels.final.draw(model, track.x[model.steps]);
      chart.show(i, seed);
      info.textContent = `step ${i + 1} of ${model.steps}: timestep t = ${model.timesteps[i]}; seed ${track.seed} drawn bold`;
    }
    const slider = Slider({ label: "Sampling step", min: 0, max: last, value: 0,
      text: (i) => `step ${i + 1} of ${model.steps}, timestep ${model.timesteps[i]}`, onChange: draw });
    const player = Player({ shell, interval: Math.max(60, 3000 / model.steps), tick: () => slider.set(slider.value >= last ? 0 : slider.value + 1) });
    const controls = el("div", { class: "nti-controls" }, [slider.el, player.el]);
    picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), chart.el, info, controls);
    draw(0);
    return seedStepState({ slider, last, seeds: model.seeds, seed: () => seed,
      setSeed(index) { seed = index; if (picker) picker.set(seed); draw(slider.value); } });
  },
};
