// The overview's one picture of the whole idea: the reverse figure's run (generated/reverse.json), seen
// through one slider. Left: the image xₜ at the current step, from pure noise to the finished sample;
// right: the network's guess of the clean image at that step. No seed menu, no charts: the lessons
// take each part apart.
import { el, fmt, panel } from "./frames.js";
import { Slider } from "./slider.js";
import { fromFraction } from "./widgets.js";

export const overview = {
  layout: { perRow: [2, 2] },
  create(body, model) {
    const seed = 0, steps = model.steps;
    const panels = { x: panel("xₜ: the image so far"), x0: panel("x̂₀: the network's guess of the end") };
    const info = el("p", { class: "nti-info", "aria-live": "polite" });
    // position i of 0..steps: the image after i steps (steps: the finished sample, whose guess is itself)
    function draw(i) {
      const track = model.seeds[seed];
      panels.x.draw(model, track.x[i]);
      panels.x0.draw(model, track.x0[Math.min(i, steps - 1)]);
      info.textContent = i === 0 ? `start: pure noise (t = ${model.timesteps[0]})`
        : i === steps ? `after all ${steps} steps: the finished sample`
          : `after ${i} of ${steps} steps (next timestep t = ${model.timesteps[i]}, signal share ᾱ = ${fmt(model.alpha_bar[i])})`;
    }
    const slider = Slider({ label: "Denoising step", min: 0, max: steps, value: 0,
      text: (i) => `${i} of ${steps} steps`, onChange: draw });
    body.append(el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), info,
      el("div", { class: "nti-controls" }, [slider.el]));
    draw(0);
    return {
      focus: () => seed,
      getState: () => ({ step: slider.value / steps }),
      setState(state) { if (state.step !== undefined) slider.set(fromFraction(state.step, steps)); },
    };
  },
};
