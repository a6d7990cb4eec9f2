// The overview's one picture of the whole idea: the reverse figure's run (generated/reverse.json), seen
// through one slider. Left: the image xₜ at the current step, from pure noise to the finished sample;
// right: the network's guess of the clean image at that step. Below, the same image at six steps, so
// the first screen shows the whole way from noise to picture before the reader touches anything (a
// click on one goes there). No seed menu, no charts: the lessons take each part apart.
import { el, fmt, panel } from "./frames.js";
import { Slider } from "./slider.js";
import { fromFraction } from "./widgets.js";

const THUMBS = 6; // the strip: the image at six evenly spaced steps, pure noise to the sample

export const overview = {
  layout: { perRow: [2, 2], thumbs: THUMBS },
  create(body, model) {
    const seed = 0, steps = model.steps;
    const panels = { x: panel("xₜ: the image so far"), x0: panel("x̂₀: the network's guess of the end") };
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    const marks = Array.from({ length: THUMBS }, (_, k) => Math.round((k * steps) / (THUMBS - 1)));
    const thumbs = marks.map((i) => ({ i, panel: panel(i === 0 ? "pure noise" : i === steps ? "the sample" : `step ${i}`, "nti-thumb") }));
    const strip = el("div", { class: "nti-thumbs", role: "group", "aria-label": "The image xₜ from pure noise to the finished sample, at six steps" },
      [el("p", { class: "nti-subhead", text: "The whole way, from noise to picture" }), el("div", { class: "nti-thumb-row" }, thumbs.map((t) => t.panel.el))]);
    thumbs.forEach((t) => t.panel.canvas.addEventListener("click", () => slider.set(t.i)));
    // position i of 0..steps: the image after i steps (steps: the finished sample, whose guess is itself)
    function draw(i) {
      const track = model.seeds[seed];
      panels.x.draw(model, track.x[i]);
      panels.x0.draw(model, track.x0[Math.min(i, steps - 1)]);
      for (const t of thumbs) {
        t.panel.el.classList.toggle("nti-current", t.i === i);
        if (t.i === i) t.panel.el.setAttribute("aria-current", "step"); else t.panel.el.removeAttribute("aria-current");
      }
      info.textContent = i === 0 ? `start: pure noise (t = ${model.timesteps[0]})`
        : i === steps ? `after all ${steps} steps: the finished sample`
          : `after ${i} of ${steps} steps (next timestep t = ${model.timesteps[i]}, signal power left ᾱ = ${fmt(model.alpha_bar[i])})`;
    }
    const slider = Slider({ label: "Denoising step", min: 0, max: steps, value: 0,
      text: (i) => `${i} of ${steps} steps`, onChange: draw });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), strip, info,
      el("div", { class: "nti-controls" }, [slider.el]));
    thumbs.forEach((t) => t.panel.draw(model, model.seeds[seed].x[t.i]));
    draw(0);
    return {
      focus: () => seed,
      getState: () => ({ step: slider.value / steps }),
      setState(state) { if (state.step !== undefined) slider.set(fromFraction(state.step, steps)); },
    };
  },
};
