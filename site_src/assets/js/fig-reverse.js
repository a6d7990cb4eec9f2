// Reverse process: one step slider drives x_t, the predicted noise, the predicted clean image and
// the next x_t; a row of small x̂₀ panels at evenly spaced steps shows the clean-image guess getting
// sharper (the one nearest the current step marked); a chart of alpha_bar over the sampling steps
// marks the current step; a seed picker chooses the trajectory.
import { decibels, el, fmt, niceTicks, panel, svg } from "./frames.js";
import { lazy } from "./live.js";
import { Slider } from "./slider.js";
import { Player, SeedPicker, seedStepState } from "./widgets.js";

const THUMBS = 6; // at most: the strip's steps come with the figure data (reverse/figure.py)

// ᾱ (y, 0 to 1) at each sampling step (x, 1 to T), one bar a step, with ticks on both axes.
function alphaStrip(model) {
  const W = 400, H = 92, pad = { l: 42, r: 8, t: 6, b: 30 }, n = model.alpha_bar.length;
  const plotW = W - pad.l - pad.r, plotH = H - pad.t - pad.b, bar = plotW / n;
  const X = (i) => pad.l + i * bar;            // left edge of step i (0-based)
  const Y = (a) => H - pad.b - a * plotH;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-strip", role: "img",
    "aria-label": `Signal share ᾱ at each of the ${n} sampling steps, rising from almost 0 (pure noise) to almost 1 (clean image); the current step is marked` });
  for (const a of [0, 0.5, 1]) {
    if (a > 0) root.append(svg("line", { x1: pad.l, y1: Y(a), x2: W - pad.r, y2: Y(a), class: "nti-grid" }));
    root.append(svg("line", { x1: pad.l - 3, y1: Y(a), x2: pad.l, y2: Y(a), class: "nti-axis" }));
    root.append(svg("text", { x: pad.l - 5, y: Y(a) + 3.5, "text-anchor": "end", class: "nti-chart-text" }, a === 0.5 ? "0.5" : String(a)));
  }
  model.alpha_bar.forEach((a, i) => {
    root.append(svg("rect", { x: X(i) + 0.15 * bar, width: Math.max(0.5, 0.7 * bar), y: Y(a), height: Math.max(0, a * plotH), class: "nti-strip-bar" }));
  });
  const marker = svg("rect", { y: pad.t, height: plotH, width: Math.max(2, bar), class: "nti-strip-marker" });
  root.append(marker);
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "nti-axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "nti-axis" }));
  // x ticks: step 1, then round multiples up to T (the last tick T itself when it is not round)
  const every = niceTicks(n, 5)[1] || 1;
  const ticks = [1];
  for (let k = every; k <= n; k += every) if (k - 1 >= 0.4 * every) ticks.push(k);
  if (ticks[ticks.length - 1] !== n && n - ticks[ticks.length - 1] >= 0.4 * every) ticks.push(n);
  for (const k of ticks) {
    const x = X(k - 1) + bar / 2;
    root.append(svg("line", { x1: x, y1: H - pad.b, x2: x, y2: H - pad.b + 3, class: "nti-axis" }));
    root.append(svg("text", { x, y: H - pad.b + 13, "text-anchor": "middle", class: "nti-chart-text" }, String(k)));
  }
  root.append(svg("text", { x: pad.l + plotW / 2, y: H - 3, "text-anchor": "middle", class: "nti-chart-text" }, "sampling step"));
  root.append(svg("text", { x: 9, y: pad.t + plotH / 2 + 5, "text-anchor": "middle", class: "nti-chart-text nti-chart-title" }, "ᾱ"));
  return { el: root, mark(i) { marker.setAttribute("x", X(i)); } };
}

// One step as a loop: xₜ and t go into the network, its answer (v, ε or x₀, as the model was
// trained) gives ε̂ and x̂₀, the scheduler turns them into the next xₜ, which is the next step's
// input. The numbers on the arrows follow the step slider; the four panels above are the boxes.
function loopDiagram(model) {
  const W = 400, H = 82, y = 16, h = 30, gap = 14; // y: room above the boxes for the arrows' values
  const answer = { v_prediction: "v̂", epsilon: "ε̂", sample: "x̂₀" }[model.prediction] || "output";
  const sampler = String(model.scheduler || "").replace(/Scheduler$/, "") || "scheduler";
  const boxes = [["xₜ", "input"], ["network", `answers ${answer}`], ["ε̂, x̂₀", "estimates"], [sampler, "one step"], ["next xₜ", "output"]];
  const w = (W - 2 - gap * (boxes.length - 1)) / boxes.length;
  const X = (i) => 1 + i * (w + gap);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "nti-loop", role: "img" });
  const title = svg("title", {});
  root.append(title);
  boxes.forEach(([name, what], i) => {
    root.append(svg("rect", { x: X(i), y, width: w, height: h, rx: 4, class: "nti-loop-box" }));
    root.append(svg("text", { x: X(i) + w / 2, y: y + 13, "text-anchor": "middle", class: "nti-chart-text nti-loop-name" }, name));
    root.append(svg("text", { x: X(i) + w / 2, y: y + 24, "text-anchor": "middle", class: "nti-chart-text nti-loop-what" }, what));
    if (i) root.append(svg("path", { d: `M${X(i) - gap + 1},${y + h / 2} h${gap - 4} l-3,-3 m3,3 l-3,3`, class: "nti-loop-arrow" }));
  });
  // the way back: the next xₜ is the next step's input
  const back = `M${X(4) + w / 2},${y + h} v10 H${X(0) + w / 2} v-8 l-3,3 m3,-3 l3,3`;
  root.append(svg("path", { d: back, class: "nti-loop-arrow" }));
  const label = svg("text", { x: W / 2, y: y + h + 21, "text-anchor": "middle", class: "nti-chart-text nti-loop-label" });
  const tIn = svg("text", { x: X(1) - gap / 2, y: y - 4, "text-anchor": "middle", class: "nti-chart-text nti-loop-value" });
  const aOut = svg("text", { x: X(3) - gap / 2, y: y - 4, "text-anchor": "middle", class: "nti-chart-text nti-loop-value" });
  root.append(label, tIn, aOut);
  return {
    el: root,
    show(i) {
      const t = model.timesteps[i], a = model.alpha_bar[i], last = i === model.steps - 1;
      tIn.textContent = `t = ${t}`;
      aOut.textContent = `ᾱ = ${fmt(a, 3)}`;
      label.textContent = last ? `step ${i + 1} of ${model.steps}: the last; its output is the finished image`
        : `step ${i + 1} of ${model.steps}: its output is step ${i + 2}'s input`;
      title.textContent = `One reverse step: x_t and t = ${t} into the network, which answers ${answer}; from it the noise and clean-image estimates; the ${sampler} step makes the next x_t, the input of the next step (step ${i + 1} of ${model.steps}, alpha-bar ${fmt(a, 3)})`;
    },
  };
}

export const reverse = {
  layout: { perRow: [4, 3], thumbs: THUMBS, secondary: ".nti-loop, .nti-thumbs, .nti-strip", views: ["Frames", "Loop and x̂₀"] },
  create(body, model, shell) {
    let seed = 0;
    const panels = {
      x: panel("xₜ: the input"), eps: panel("ε̂: predicted noise"),
      x0: panel("x̂₀: predicted clean image"), next: panel("next xₜ: scheduler output"),
    };
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const strip = alphaStrip(model);
    const loop = loopDiagram(model);
    const last = model.steps - 1;
    // x̂₀ along the way: the steps and their frames (in one sheet per seed) come with the figure data
    const thumbs = model.thumb_steps.map((i, k) => ({ i, k, panel: panel(`step ${i + 1}`, "nti-thumb") }));
    const thumbRow = el("div", { class: "nti-thumbs", role: "group", "aria-label": "Predicted clean image x̂₀ at evenly spaced steps" },
      [el("p", { class: "nti-subhead", text: "x̂₀ along the way: coarse shapes first, details last" }),
        el("div", { class: "nti-thumb-row" }, thumbs.map((t) => t.panel.el))]);
    let thumbSeed = null;
    function drawThumbs(i) {
      const track = model.seeds[seed];
      if (thumbSeed !== seed) { thumbs.forEach((t) => t.panel.draw(model, track.thumbs[t.k])); thumbSeed = seed; }
      let nearest = thumbs[0];
      for (const t of thumbs) if (Math.abs(t.i - i) < Math.abs(nearest.i - i)) nearest = t;
      for (const t of thumbs) {
        t.panel.el.classList.toggle("nti-current", t === nearest);
        if (t === nearest) t.panel.el.setAttribute("aria-current", "step"); else t.panel.el.removeAttribute("aria-current");
      }
    }
    function draw(i) {
      const track = model.seeds[seed];
      panels.x.draw(model, track.x[i]);
      panels.eps.draw(model, track.eps[i]);
      panels.x0.draw(model, track.x0[i]);
      panels.next.draw(model, track.x[i + 1]);
      drawThumbs(i);
      strip.mark(i);
      loop.show(i);
      info.textContent = `step ${i + 1} of ${model.steps}: timestep t = ${model.timesteps[i]}, ᾱ = ${fmt(model.alpha_bar[i])}, SNR = ${decibels(model.snr[i])}`;
    }
    const slider = Slider({ label: "Sampling step", min: 0, max: last, value: 0,
      text: (i) => `step ${i + 1} of ${model.steps}, timestep ${model.timesteps[i]}`, onChange: draw });
    // a small x̂₀ panel is also a shortcut to its step
    thumbs.forEach((t) => t.panel.canvas.addEventListener("click", () => slider.set(t.i)));
    const player = Player({ shell, interval: Math.max(60, 3000 / model.steps), tick: () => slider.set(slider.value >= last ? 0 : slider.value + 1) });
    const controls = el("div", { class: "nti-controls" }, [slider.el, player.el]);
    const picker = SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
    const live = lazy(model, () => import("./live-ui.js").then((m) => m.LiveReverse(model)));
    shell.cleanups.push(() => { if (live.cancel) live.cancel(); });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), loop.el, thumbRow, strip.el, info, controls);
    controls.append(live.el);
    draw(0);
    return seedStepState({ slider, last, seeds: model.seeds, seed: () => seed,
      setSeed(index) { seed = index; if (picker) picker.set(seed); draw(slider.value); } });
  },
};
