// Guidance, live (loaded by live.js on the first "Try it live"): any class, any guidance scale w, any
// seed and step count on the class-conditional model, sampled in the reader's browser. Each step
// sends the class and the "no class" copies of xₜ to the network as one batch of 2 (the graph's
// class_labels input), and the worker mixes the two answers as the precompute does
// (core/guidance.py): guided = out(x, no class) + w (out(x, c) − out(x, no class)); w = 1 and w = 0
// need one branch. The result: xₜ and the guided x̂₀ at every step, under a step slider of its own.
import { el, panel } from "./frames.js";
import { off } from "./live.js";
import { LiveBlock, mark, numberField, run, MAX_SEED } from "./live-ui.js";
import { Slider } from "./slider.js";
import { Picker } from "./widgets.js";

const MAX_SCALE = 20;

// current() -> { label, scale }: the figure's class and w, the form's start each time it opens
// until the reader changes a field.
export function LiveGuidance(model, { current }) {
  const live = model.live || {};
  const nullClass = live.null_class;
  if (!Number.isInteger(nullClass)) return off("this model's graph takes no class labels");
  const T = (live.scheduler_config && live.scheduler_config.num_train_timesteps) || 1000;
  const size = live.shape[1];
  // every class of the model, named where the run names it
  const names = Array.from({ length: nullClass }, (_, c) => {
    const k = model.labels.indexOf(c);
    return k >= 0 && model.class_names && model.class_names[k] ? model.class_names[k] : `class ${c}`;
  });
  const classField = Picker({ label: "Class", options: names, value: 0, onChange: () => { touched = true; } });
  const scale = numberField("Guidance scale w", { min: 0, max: MAX_SCALE, value: 1, step: 0.1 });
  const seed = numberField("Seed", { min: 0, max: MAX_SEED, value: model.seeds[0] || 0 });
  const steps = numberField("Steps", { min: 1, max: T, value: model.steps && model.steps <= T ? model.steps : 20 });
  let touched = false, frames = [], job = null, panels = null, info = null;
  for (const field of [scale, seed, steps]) field.input.addEventListener("change", () => { touched = true; });
  const what = () => `${names[job.guidance.label]}, w = ${job.guidance.scale}, seed ${job.seed}, ${job.steps} DDIM step${job.steps === 1 ? "" : "s"} on ${model.slug}`;
  const branches = () => (job.guidance.scale === 0 ? "the “no class” prediction alone"
    : job.guidance.scale === 1 ? "the class prediction alone" : "both predictions in one network call a step (a batch of 2)");
  function draw(i) {
    const f = frames[i], last = i === frames.length;
    panels.x.drawPixels(last ? frames[i - 1].frames.next : f.frames.x, size, `live: ${what()}, ${last ? "final" : `xₜ at step ${i}`}`);
    const e = frames[Math.min(i, frames.length - 1)];
    panels.x0.drawPixels(e.frames.x0, size, `live: ${what()}, x̂₀ at step ${Math.min(i, frames.length - 1)}`);
    info.textContent = last ? `finished (${frames.length} of ${job.steps})` : `step ${i} of ${job.steps}: t = ${f.t}`;
  }
  return LiveBlock({
    model, title: `Any class, any guidance scale from 0 to ${MAX_SCALE}, any seed: DDIM in your browser`,
    fields: [classField.el, scale.el, seed.el, steps.el],
    onOpen() {
      if (touched) return;
      const c = current();
      classField.set(c.label);
      scale.set(c.scale);
    },
    start(report) {
      frames = [];
      job = { scheduler: "ddim", seed: seed.value(), steps: steps.value(), keep: "all",
        guidance: { label: Number(classField.select.value), scale: scale.value() } }; // "no class": the graph's null_class (live-ui.js)
      panels = { x: panel("xₜ"), x0: panel("x̂₀: the estimate") };
      info = el("p", { class: "nti-info", "aria-live": "off" });
      return run(model, job, { onStatus: report.onStatus, onStep(step) { frames[step.index] = step; report.onStep(step); } });
    },
    onStep(step, area) {
      if (step.done === 1) {
        area.replaceChildren(mark(`${what()}; ${branches()}`), el("div", { class: "nti-panels nti-live-panels" }, [panels.x.el, panels.x0.el]), info);
      }
      draw(step.index);
    },
    onResult(answer, area) {
      const end = frames.length; // the final picture after the last step's x_t
      const slider = Slider({ label: "Live sampling step", min: 0, max: end, value: end,
        text: (i) => (i === end ? `finished (${i} of ${job.steps})` : `step ${i} of ${job.steps}`), onChange: draw });
      area.append(el("div", { class: "nti-controls" }, [slider.el]));
      Object.assign(area.dataset, { label: job.guidance.label, scale: job.guidance.scale, seed: job.seed, steps: job.steps, calls: answer.calls });
      draw(end);
    },
  });
}
