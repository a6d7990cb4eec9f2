// The one slider used by every figure: an ARIA slider with keyboard, mouse and touch input.
// Keys: Left/Down -1, Right/Up +1, PageUp +10% of the range, PageDown -10%, Home/End the ends.
import { el } from "./frames.js";

let counter = 0;

export function Slider({ label, min, max, value, text, onChange }) {
  const id = `nti-slider-${++counter}`;
  const labelEl = el("span", { class: "nti-slider-label", id: `${id}-label`, text: label });
  const valueEl = el("span", { class: "nti-slider-value", "aria-hidden": "true" });
  const fill = el("div", { class: "nti-slider-fill" });
  const thumb = el("div", { class: "nti-slider-thumb", role: "slider", tabindex: 0, "aria-labelledby": `${id}-label` });
  const track = el("div", { class: "nti-slider-track" }, [fill, thumb]);
  const root = el("div", { class: "nti-slider" }, [el("div", { class: "nti-slider-head" }, [labelEl, valueEl]), track]);
  const state = { min, max, value: null };

  function render() {
    const span = state.max - state.min;
    const percent = span > 0 ? ((state.value - state.min) / span) * 100 : 0;
    // Moved by transform, not left/width: a transform is composited, never a layout shift.
    // --nti-p is read by the CSS through container units (the track is the container).
    // CSSOM, allowed under the style-src 'self' policy.
    track.style.setProperty("--nti-p", percent);
    thumb.setAttribute("aria-valuemin", state.min);
    thumb.setAttribute("aria-valuemax", state.max);
    thumb.setAttribute("aria-valuenow", state.value);
    const words = text ? text(state.value) : String(state.value);
    thumb.setAttribute("aria-valuetext", words);
    valueEl.textContent = words;
    root.classList.toggle("nti-disabled", span <= 0);
  }

  function set(next, fromUser) {
    next = Math.min(state.max, Math.max(state.min, Math.round(next)));
    if (next === state.value) return;
    state.value = next;
    render();
    onChange(next, fromUser);
  }

  thumb.addEventListener("keydown", (event) => {
    const page = Math.max(1, Math.round((state.max - state.min) / 10));
    const moves = {
      ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageUp: page, PageDown: -page,
    };
    if (event.key in moves) set(state.value + moves[event.key], true);
    else if (event.key === "Home") set(state.min, true);
    else if (event.key === "End") set(state.max, true);
    else return;
    event.preventDefault();
  });

  function fromPointer(event) {
    const box = track.getBoundingClientRect();
    const ratio = box.width > 0 ? (event.clientX - box.left) / box.width : 0;
    set(state.min + Math.min(1, Math.max(0, ratio)) * (state.max - state.min), true);
  }
  track.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    track.setPointerCapture(event.pointerId);
    thumb.focus({ preventScroll: true });
    fromPointer(event);
    event.preventDefault();
  });
  track.addEventListener("pointermove", (event) => { if (track.hasPointerCapture(event.pointerId)) fromPointer(event); });
  const release = (event) => { if (track.hasPointerCapture(event.pointerId)) track.releasePointerCapture(event.pointerId); };
  track.addEventListener("pointerup", release);
  track.addEventListener("pointercancel", release);

  state.value = Math.min(max, Math.max(min, value));
  render();
  return {
    el: root,
    thumb,
    get value() { return state.value; },
    get max() { return state.max; },
    set(next) { set(next, false); },
    setRange(newMin, newMax, keep) {
      state.min = newMin; state.max = newMax;
      const clamped = Math.min(newMax, Math.max(newMin, keep === undefined ? state.value : keep));
      const changed = clamped !== state.value;
      state.value = clamped;
      render();
      if (changed) onChange(clamped, false);
    },
  };
}
