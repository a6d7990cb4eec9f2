// Scrollytelling: the active text step (.nti-step with a data-state) is the last one whose top has
// passed a trigger line; a change of step moves its section's figure to that state, unless the
// reader has taken over the controls. The line is the middle of the viewport beside the figure; when
// the figure is pinned above the text (narrow screens, see figures.css) it is the middle of the area
// below the pinned figure. Every scroll position thus has one active step (none above the first),
// so no step can be skipped however fast the reader scrolls, and room kept after the last step
// (--nti-tail) lets its top reach the line, with the figure still pinned, even at the end of a page.
// Where the figure cannot be pinned (a short screen: a phone in landscape, 200 % zoom; figure-shell.js
// marks the section .nti-unpinned), it scrolls away with the text, and a step's words would talk about
// panels the reader cannot see: each step then offers "See it in the figure", which puts the figure in
// the step's state and scrolls to it, and the figure offers the way back to that step.
import { el, pinned } from "./frames.js";

const NARROW = window.matchMedia("(max-width: 76.25em)");
const TAIL_MARGIN = 24; // px past the line, so the last step is not active by a hair only

export function scrolly(section, controller) {
  const steps = Array.from(section.querySelectorAll(".nti-step[data-state]"));
  if (!steps.length) return () => {};
  const figure = section.querySelector(".nti-figure") || section.querySelector(".nti-sticky");
  const list = steps[steps.length - 1].parentElement;
  let active = null, frame = 0, line = 0;

  // A step's state for the model on show: the one its answered question gave that model (predict.js:
  // data-after-models), else the step's own.
  const stateOf = (step) => {
    const after = step.dataset.afterModels ? JSON.parse(step.dataset.afterModels) : {};
    const model = figure && figure.dataset.model;
    return model && after[model] ? after[model] : JSON.parse(step.dataset.state);
  };
  const apply = (step) => {
    try { controller.setState(stateOf(step)); } catch (error) { console.error(error); }
  };

  // The short-screen way between a step and the figure (shown by figures.css only while unpinned).
  const back = el("button", { type: "button", class: "nti-button nti-back-to-text", hidden: true, text: "↓ Back to the text" });
  let from = null; // the step whose button brought the reader to the figure
  back.addEventListener("click", () => {
    back.hidden = true;
    if (!from) return;
    from.scrollIntoView({ block: "start" });
    from.querySelector(".nti-step-show").focus({ preventScroll: true });
  });
  const shows = steps.map((step) => {
    const button = el("button", { type: "button", class: "nti-button nti-step-show", text: "↑ See it in the figure" });
    button.addEventListener("click", () => {
      apply(step);
      from = step;
      const head = figure && figure.querySelector(".nti-figure-head");
      if (head && !back.isConnected) head.prepend(back);
      back.hidden = false;
      (figure || section).scrollIntoView({ block: "start" });
      back.focus({ preventScroll: true });
    });
    step.prepend(button);
    return button;
  });

  // Layout reads and the one write (the tail), on load and when sizes change, never while scrolling.
  function measure() {
    const height = document.documentElement.clientHeight;
    const sticky = figure ? pinned(figure, section) : null;
    const top = sticky ? parseFloat(getComputedStyle(sticky).top) || 0 : 0;
    const pinnedBottom = sticky ? top + sticky.offsetHeight : 0;
    const stacked = NARROW.matches && sticky && pinnedBottom < height;
    line = stacked ? (pinnedBottom + height) / 2 : height / 2;
    // a step longer than the room under a pinned figure could never be seen whole there: it
    // slides over the figure instead (figures.css), as the cards of a phone's scrollytelling do
    for (const step of steps) step.classList.toggle("nti-step-over", Boolean(stacked) && step.offsetHeight > height - pinnedBottom - 8);
    const last = steps[steps.length - 1];
    // The last step's top at the line: the page must scroll that far. Beside the text the section
    // must reach below the pinned figure until the last step's top has gone up under the header,
    // so a reader who scrolls the step up to read it still has the whole figure beside it (with the
    // line only, a short last step let the figure slide 71 px under the header at 1366x768).
    const needed = Math.max(height - line, stacked ? 0 : pinnedBottom - top) - last.offsetHeight + TAIL_MARGIN;
    list.style.setProperty("--nti-tail", `${Math.max(0, Math.ceil(needed))}px`);
  }

  function update() {
    frame = 0;
    let next = null;
    for (const step of steps) {
      if (step.getBoundingClientRect().top <= line) next = step;
      else break;
    }
    if (!next || next === active) return;
    steps.forEach((step) => step.classList.toggle("nti-step-active", step === next));
    // a step change (not the step in view at load) means the reader is here: load the rest
    if (active) controller.engage();
    active = next;
    if (controller.userControlled) return;
    apply(next);
  }

  // A step whose state changed (a guess answered: predict.js) moves the figure again if it is the active one.
  const restate = (event) => {
    const step = event.target;
    if (step !== active || controller.userControlled) return;
    apply(step);
  };
  section.addEventListener("nti-step-state", restate);
  // Another model on show (figure-shell.js): the step the figure speaks for (the one whose "See it in
  // the figure" brought the reader here, while its way back is offered; else the active one), if one
  // model has answered its question, takes the state of the model now on show, so each model's
  // figure shows its own answer, or none yet.
  const reshown = () => {
    const step = from && !back.hidden ? from : active;
    if (step && step.dataset.afterModels && !controller.userControlled) apply(step);
  };
  if (figure) figure.addEventListener("nti-shown", reshown);
  const onScroll = () => { if (!frame) frame = requestAnimationFrame(update); };
  const onResize = () => { measure(); onScroll(); };
  window.addEventListener("scroll", onScroll, { passive: true });
  window.addEventListener("resize", onResize, { passive: true });
  NARROW.addEventListener("change", onResize);
  // The pinned figure changes height with its content (another model, the panel scale), and so does
  // a step (another model's words, a guess answered: predict.js): re-measure.
  const observer = "ResizeObserver" in window && figure ? new ResizeObserver(onResize) : null;
  if (observer) for (const box of [figure, ...steps]) observer.observe(box);
  measure();
  update();
  return () => {
    section.removeEventListener("nti-step-state", restate);
    if (figure) figure.removeEventListener("nti-shown", reshown);
    window.removeEventListener("scroll", onScroll);
    window.removeEventListener("resize", onResize);
    NARROW.removeEventListener("change", onResize);
    if (observer) observer.disconnect();
    if (frame) cancelAnimationFrame(frame);
    list.style.removeProperty("--nti-tail");
    steps.forEach((step) => step.classList.remove("nti-step-over"));
    shows.forEach((button) => button.remove());
    back.remove();
  };
}
