// The controls the figures share: pickers (a seed picker), play/pause, toggles, colour bars, and the
// helpers that turn a text step's fractions into slider positions.
import { el, fmt } from "./frames.js";

let counter = 0;

// options: strings, or { text, title } where the title (a tooltip) holds what the short text leaves out.
export function Picker({ label, options, value, onChange }) {
  const id = `nti-picker-${++counter}`;
  const select = el("select", { id });
  options.forEach((option, index) => select.append(typeof option === "string" ? el("option", { value: index, text: option })
    : el("option", { value: index, text: option.text, title: option.title })));
  const titled = () => { const option = select.options[select.selectedIndex]; if (option && option.title) select.title = option.title; };
  select.value = String(value || 0);
  titled();
  select.addEventListener("change", () => { titled(); onChange(Number(select.value)); });
  return {
    el: el("div", { class: "nti-picker" }, [el("label", { for: id, text: label }), select]),
    select,
    set(index) { select.value = String(index); titled(); },
  };
}

// The seed picker of every figure with several seeds, appended to its controls; null for one seed.
export function SeedPicker(seeds, controls, onChange) {
  if (seeds.length < 2) return null;
  const picker = Picker({ label: "Seed", options: seeds.map((s) => `seed ${s.seed}`), onChange });
  controls.append(picker.el);
  return picker;
}

export function Toggle({ label, onChange, className }) {
  const button = el("button", { type: "button", class: "nti-button " + (className || ""), "aria-pressed": "false", text: label });
  let on = false;
  const set = (next) => { on = next; button.setAttribute("aria-pressed", String(on)); onChange(on); };
  button.addEventListener("click", () => set(!on));
  return { el: button, set, get on() { return on; } };
}

// Play/pause: calls tick() every `interval` ms while playing; tick returns false to stop.
export function Player({ tick, interval, shell }) {
  let timer = null;
  const button = el("button", { type: "button", class: "nti-button nti-play", "aria-pressed": "false", text: "Play" });
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    button.textContent = "Play";
    button.setAttribute("aria-pressed", "false");
  };
  button.addEventListener("click", () => {
    if (timer) return stop();
    button.textContent = "Pause";
    button.setAttribute("aria-pressed", "true");
    timer = setInterval(() => { if (tick() === false) stop(); }, interval || 250);
  });
  shell.cleanups.push(stop);
  return { el: button, stop };
}

// The colour scale of a heatmap: viridis from 0 (dark, no difference) to `max` (bright), as the
// precompute maps it (generate/frames.py); values past max are drawn at max. `vertical`: a bar as
// tall as the heatmap beside it (--nti-panel), max at the top; its label is then for assistive
// technology only, the heatmap's caption naming it on screen (figures.css).
// A colour scale from 0 (dark) to max (bright). range: the quantity is a difference of images whose
// pixels span `range` (2 for −1..1): its ticks then read as a share of black-to-white, in %, the
// unit every image-difference bar of the site uses.
export function ColorBar({ max, label, vertical, range }) {
  const text = (v) => (range ? `${Math.round((100 * v) / range)} %` : v === 0 ? "0" : fmt(v, v >= 10 ? 0 : 1));
  const ticks = [0, max / 2, max].map((v) => el("span", { text: text(v) }));
  return {
    el: el("div", { class: "nti-colorbar" + (vertical ? " nti-colorbar-v" : ""), role: "img", "aria-label": `${label}: colour scale from ${text(0)} (dark) to ${text(max)} or more (bright)` }, [
      el("span", { class: "nti-colorbar-label", text: label }),
      el("div", { class: "nti-colorbar-ramp" }),
      el("div", { class: "nti-colorbar-ticks" }, ticks),
    ]),
  };
}

// Fractions used by the text's steps (0 = start of a slider, 1 = its end) -> slider values.
export const fromFraction = (fraction, max) => Math.round(Math.min(1, Math.max(0, fraction)) * max);

// The state of a figure that follows one seed's run along one slider (reverse, spectra,
// trajectories): { step: the slider's position as a fraction, seed: the picker's index }, as their
// experiments declare it; focus is the seed on show. setSeed shows a seed (picker, drawing).
export const seedStepState = ({ slider, last, seeds, seed, setSeed }) => ({
  focus: seed,
  getState: () => ({ step: last > 0 ? slider.value / last : 0, seed: seed() }),
  setState(state) {
    if (state.seed !== undefined && state.seed < seeds.length) setSeed(state.seed);
    if (state.step !== undefined) slider.set(fromFraction(state.step, last));
  },
});
