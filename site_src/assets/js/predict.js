// Predict, then see: a question in a lesson's text (templates' predict macro) that the reader answers
// before the measured answer is shown, then the gap between the guess and the answer. Readers who
// predict first, then see where they were wrong, remember more (Kim, Reinecke and Hullman, CHI 2017).
// Optional (Skip shows the answer at once) and keyboard-operable (arrows choose, Enter commits). The
// guess stays in the page: nothing is stored or sent. The answer is the run's, put in the page by
// the build from the facts (data-answer), and the words that explain it are the page's own.
import { el } from "./frames.js";

let counter = 0;

// at most two decimals, and no trailing zeros: 1.5, not 1.50
const number = (value) => (typeof value === "number" ? String(Number(value.toFixed(2))) : String(value));
const label = (box, value) => box.dataset.label.replaceAll("{v}", number(value));

// How far the guess is from the answer, in the question's unit ("3 steps earlier"), or "spot on".
function gap(box, guess, answer) {
  const d = guess - answer;
  if (Math.abs(d) < 1e-9) return "spot on";
  const size = number(Math.abs(d));
  const unit = box.dataset.unit ? ` ${box.dataset.unit}${Math.abs(d) === 1 ? "" : "s"}` : "";
  return `${size}${unit} ${d > 0 ? box.dataset.more || "higher" : box.dataset.less || "lower"} than measured`;
}

function enhance(box) {
  const values = JSON.parse(box.dataset.values), answer = JSON.parse(box.dataset.answer);
  const reveal = box.querySelector(":scope > .nti-predict-reveal");
  if (!values.length || answer === null || !reveal) return;
  box.dataset.ready = "true";
  reveal.hidden = true;
  const id = `nti-predict-${++counter}`;
  // the middle of the choices, but never the answer itself: a guess committed untouched must not be right by default
  const middle = Math.floor((values.length - 1) / 2), at = values.indexOf(answer);
  const start = middle !== at || values.length < 2 ? middle : middle > 0 ? middle - 1 : middle + 1;
  const input = el("input", { type: "range", id, min: 0, max: values.length - 1, step: 1, value: start, "aria-describedby": `${id}-q` });
  const shown = el("output", { for: id, class: "nti-predict-value", text: label(box, values[start]) });
  const commit = el("button", { type: "button", class: "nti-button nti-predict-commit", text: "Commit my guess" });
  const skip = el("button", { type: "button", class: "nti-button nti-predict-skip", text: "Skip: show the answer" });
  const result = el("p", { class: "nti-predict-result", role: "status" });
  // answered, the form goes (the result repeats the guess) and the question folds away (the step must
  // still fit under a pinned figure with the explanation added); this button shows the question again
  const again = el("button", { type: "button", class: "nti-predict-again", "aria-expanded": "false" });
  const question = box.querySelector(":scope > .nti-predict-question");
  if (question) question.id = `${id}-q`;
  const form = el("div", { class: "nti-predict-form" }, [
    el("label", { for: id, class: "nti-predict-label", text: "Your guess" }), input, shown, commit, skip]);
  reveal.before(form, result);
  const update = () => {
    const text = label(box, values[Number(input.value)]);
    shown.textContent = text;
    input.setAttribute("aria-valuetext", text);
  };
  update();
  function done(guessed) {
    const guess = values[Number(input.value)];
    if (guessed) {
      box.dataset.guess = JSON.stringify(guess);
      const off = gap(box, guess, answer);
      result.textContent = `Your guess: ${label(box, guess)}. Measured: ${label(box, answer)}${off === "spot on" ? ": spot on!" : `, so your guess is ${off}.`}`;
    } else {
      result.textContent = `Measured: ${label(box, answer)}.`;
    }
    box.dataset.state = guessed ? "guessed" : "skipped";
    form.remove();
    fold(true);
    result.before(again);
    reveal.hidden = false;
    result.focus({ preventScroll: true });
    // the figure may now show what answers the question (the step's state after it: data-after). A
    // question asked in one model's words (templates' per_model) is that model's: its state is kept
    // for that model only (data-after-models, read by scrolly.js), so another model's figure is not
    // left showing this model's answer under words whose question is still open.
    const step = box.closest(".nti-step[data-state]");
    if (step && box.dataset.after) {
      const words = box.closest(".nti-per-model[data-model]");
      if (words) {
        const after = JSON.parse(step.dataset.afterModels || "{}");
        after[words.dataset.model] = JSON.parse(box.dataset.after);
        step.dataset.afterModels = JSON.stringify(after);
      } else {
        step.dataset.state = box.dataset.after;
      }
      step.dispatchEvent(new CustomEvent("nti-step-state", { bubbles: true }));
    }
  }
  function fold(folded) {
    if (question) question.hidden = folded;
    again.setAttribute("aria-expanded", String(!folded));
    again.textContent = folded ? "Show the question" : "Hide the question";
  }
  again.addEventListener("click", () => fold(again.getAttribute("aria-expanded") === "true"));
  input.addEventListener("input", update);
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); done(true); } });
  commit.addEventListener("click", () => done(true));
  skip.addEventListener("click", () => done(false));
  result.tabIndex = -1;
}

// Every question of the page not yet made interactive (each page load, also after instant navigation).
export function predictions(root = document) {
  for (const box of root.querySelectorAll(".nti-predict:not([data-ready])")) enhance(box);
}
