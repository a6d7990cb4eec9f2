// A link to the current view. Each figure's state lives in the page's query string under its kind,
// e.g. ?reverse=model:fashion-32,seed:1,step:0.25&mix_noise=scale:0.4 : written as the reader moves
// the controls (history.replaceState, debounced: one history entry per page, however long the
// reader scrubs), read back when the figure mounts, also after instant navigation. A "Copy link"
// button per figure puts that address on the clipboard.
//
// Values from a link are untrusted. Only the keys the experiment declares for its figure (its
// `state`, shipped in the figure data as {key: kind}) and the figure reports (getState) are taken,
// each a plain decimal number of its kind (an index: a whole number; a fraction: 0..1; a value in
// the figure's own units), and a model only by the slug of a model the figure offers; anything else
// is dropped without a word, so an old link whose values no longer exist lands on the nearest valid
// view (setState clamps).
import { el } from "./frames.js";

const MAX_INTEGER = 100000, MAX_VALUE = 1e6, MAX_PARAM = 400; // longer values are not ours
const NUMBER = /^\d{1,7}(\.\d{1,8})?$/;
const WRITE_DELAY_MS = 300;

function format(state, slug) {
  const parts = slug ? [`model:${slug}`] : [];
  for (const [key, value] of Object.entries(state)) {
    if (typeof value === "number" && Number.isFinite(value)) parts.push(`${key}:${Number(value.toPrecision(6))}`);
  }
  return parts.join(",");
}

// The safe part of a link's value for this figure: { model, state }. `kinds`: {key: kind} of the
// keys this figure takes.
export function parseShared(text, kinds, slugs) {
  const result = { model: null, state: {} };
  if (typeof text !== "string" || text.length > MAX_PARAM) return result;
  for (const part of text.split(",")) {
    const colon = part.indexOf(":");
    if (colon < 1) continue;
    const key = part.slice(0, colon), raw = part.slice(colon + 1);
    if (key === "model") {
      if (slugs.includes(raw)) result.model = raw;
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(kinds, key) || !NUMBER.test(raw)) continue;
    const value = Number(raw);
    if (kinds[key] === "index") {
      if (Number.isInteger(value) && value <= MAX_INTEGER) result.state[key] = value;
    } else if (kinds[key] === "fraction") {
      result.state[key] = Math.min(1, value);
    } else if (kinds[key] === "value" && value <= MAX_VALUE) {
      result.state[key] = value; // a level in the figure's own units (schedules: t), matched to the nearest
    }
  }
  return result;
}

function addressWith(kind, value) {
  const url = new URL(window.location.href);
  url.searchParams.set(kind, value);
  return url;
}

// Restore the view a link names, then keep the address in step with the reader's moves.
export async function share(root, controller) {
  const kind = root.dataset.kind;
  const slugs = controller.models;
  const link = new URL(window.location.href).searchParams.get(kind);
  if (link) {
    const reported = controller.getState(), kinds = {};
    // (a compact figure reports its view only while it shows one other than its frames)
    for (const [key, type] of Object.entries(controller.stateKinds)) if (key in reported || key === "view") kinds[key] = type;
    const { model, state } = parseShared(link, kinds, slugs);
    if (model && slugs.indexOf(model) !== controller.model) await controller.select(slugs.indexOf(model));
    if (Object.keys(state).length || model) {
      controller.setState(state);
      controller.takeOver(); // the reader's view, not the text's: scrolling does not move it away
    }
  }
  let timer = null;
  const home = window.location.pathname;
  const write = () => {
    timer = null;
    // a write still pending when instant navigation moved on would put this figure's view into the
    // next page's address (seen: ?reverse=... on similar-noise-mix after going back): the theme
    // changes the address before it swaps the page, so being in the document is not enough
    if (!root.isConnected || window.location.pathname !== home) return;
    const url = addressWith(kind, format(controller.getState(), slugs.length > 1 ? slugs[controller.model] : null));
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
  };
  const later = () => { if (timer) clearTimeout(timer); timer = setTimeout(write, WRITE_DELAY_MS); };
  const events = ["input", "change", "click", "keyup", "pointerup", "nti-shown"];
  for (const type of events) root.addEventListener(type, later, { passive: true });

  const status = el("span", { class: "nti-share-status", role: "status" });
  const button = el("button", { type: "button", class: "nti-button nti-share", text: "Copy link",
    title: "Copy a link to this figure's current view" });
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    if (timer) clearTimeout(timer);
    write();
    try {
      await navigator.clipboard.writeText(window.location.href);
      status.textContent = "Link copied";
    } catch (error) { // no clipboard (an insecure origin, a denied permission): the address bar has it
      status.textContent = "Link in the address bar";
    }
    setTimeout(() => { status.textContent = ""; }, 2500);
  });
  const head = root.querySelector(".nti-figure-head");
  const follow = head ? head.querySelector(".nti-follow") : null;
  if (follow) follow.before(button, status);
  else if (head) head.append(button, status);
  return () => {
    if (timer) clearTimeout(timer);
    for (const type of events) root.removeEventListener(type, later);
    button.remove();
    status.remove();
  };
}
