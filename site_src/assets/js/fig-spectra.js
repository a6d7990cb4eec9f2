// Coarse to fine: one step slider drives x_t, the predicted noise and the clean-image estimate of
// one DDIM trajectory, and a log-log chart of their power spectra at that step (mean over the run's
// seeds: the figure data carries them, spectra/figure.py), with the noise inside x_t and the final
// images' spectrum for reference. A shaded band marks the frequencies where the picture stands above
// the noise (`above[step]`, counted by the build from the frames and the noise level).
import { el, fmt, panel, svg } from "./frames.js";
import { Slider } from "./slider.js";
import { Player, SeedPicker, seedStepState } from "./widgets.js";

const LINES = [
  { key: "x", name: "xₜ" },
  { key: "x0", name: "x̂₀ estimate" },
  { key: "noise", name: "noise in xₜ" },
  { key: "clean", name: "final image" },
];

function spectrumChart(model) {
  const W = 360, H = 210, pad = { l: 52, r: 10, t: 8, b: 32 };
  const ks = model.frequencies, K = ks[ks.length - 1];
  const all = [model.clean, ...["x", "x0", "noise"].flatMap((k) => model.spectra[k])].flat().filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...all))), hi = Math.ceil(Math.log10(Math.max(...all)));
  const X = (k) => pad.l + (Math.log2(k) / Math.max(1e-9, Math.log2(K))) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo)) * (H - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-chart nti-spectra-chart", role: "img",
    "aria-label": "Power spectra at the current step, log-log: x_t, the clean-image estimate, the noise inside x_t and the final images, against frequency in cycles per image" });
  const band = svg("rect", { class: "nti-spectra-band", y: pad.t, height: H - pad.t - pad.b, x: pad.l, width: 0 });
  root.append(band);
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  for (let k = 1; k <= K; k *= 2) {
    root.append(svg("line", { x1: X(k), y1: H - pad.b, x2: X(k), y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x: X(k), y: H - pad.b + 13, "text-anchor": "middle", class: "nti-chart-text" }, String(k)));
  }
  const every = Math.max(1, Math.ceil((hi - lo) / 5));
  for (let p = lo; p <= hi; p += every) {
    root.append(svg("line", { x1: pad.l - 3, y1: Y(10 ** p), x2: pad.l, y2: Y(10 ** p), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(10 ** p) + 3, "text-anchor": "end", class: "nti-chart-text" }, `1e${p}`));
  }
  root.append(svg("text", { x: (W + pad.l) / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "cycles per image (log scale)"));
  root.append(svg("text", { x: 10, y: (H - pad.b) / 2, "text-anchor": "middle", class: "nti-chart-text", transform: `rotate(-90 10 ${(H - pad.b) / 2})` }, "power, pixel value² (log)"));
  const lines = {};
  for (const line of LINES) { lines[line.key] = svg("polyline", { class: `nti-spec-line nti-spec-${line.key}` }); root.append(lines[line.key]); }
  const points = (values) => values.map((v, j) => `${X(ks[j])},${Y(v)}`).join(" ");
  lines.clean.setAttribute("points", points(model.clean));
  const legend = el("p", { class: "nti-legend nti-spectra-legend" }, [
    ...LINES.map((l) => el("span", { class: `nti-spec-key nti-spec-${l.key}`, text: l.name })),
    el("span", { class: "nti-spec-key nti-spec-band", text: "picture above the noise" })]);
  return {
    el: el("div", { class: "nti-spectra-chart-wrap" }, [root, legend]),
    show(i) {
      for (const key of ["x", "x0", "noise"]) lines[key].setAttribute("points", points(model.spectra[key][i]));
      const n = model.above[i];
      // the band covers k = 1 .. n, drawn to halfway towards the next frequency
      band.setAttribute("width", n ? Math.max(0, Math.min(W - pad.r, X(Math.min(K, n + 0.5))) - pad.l) : 0);
    },
  };
}

export const spectra = {
  layout: { perRow: [4, 4], secondary: ".nti-spectra-chart-wrap", views: ["Frames", "Spectrum"] }, // four panels in one row, also on a phone
  create(body, model, shell) {
    let seed = 0;
    const last = model.steps - 1;
    const panels = { x: panel("xₜ: the input"), eps: panel("ε̂: predicted noise"),
      x0: panel("x̂₀: the estimate"), final: panel("the final image") };
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const chart = spectrumChart(model);
    const K = model.frequencies.length;
    function draw(i) {
      const track = model.seeds[seed];
      panels.x.draw(model, track.x[i]);
      panels.eps.draw(model, track.eps[i]);
      panels.x0.draw(model, track.x0[i]);
      panels.final.draw(model, track.x[model.steps]);
      chart.show(i);
      const n = model.above[i];
      info.textContent = `step ${i + 1} of ${model.steps}: timestep t = ${model.timesteps[i]}, ᾱ = ${fmt(model.alpha_bar[i])}; ` +
        (n === 0 ? "no frequency of the picture stands above the noise yet"
          : n >= K ? "every frequency of the picture stands above the noise"
            : `the picture stands above the noise up to ${model.frequencies[n - 1]} cycle${n === 1 ? "" : "s"} per image`);
    }
    const slider = Slider({ label: "Sampling step", min: 0, max: last, value: 0,
      text: (i) => `step ${i + 1} of ${model.steps}, timestep ${model.timesteps[i]}`, onChange: draw });
    const player = Player({ shell, interval: Math.max(60, 3000 / model.steps), tick: () => slider.set(slider.value >= last ? 0 : slider.value + 1) });
    const controls = el("div", { class: "nti-controls" }, [slider.el, player.el]);
    const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), chart.el, info, controls);
    draw(0);
    return seedStepState({ slider, last, seeds: model.seeds, seed: () => seed,
      setSeed(index) { seed = index; if (picker) picker.set(seed); draw(slider.value); } });
  },
};
