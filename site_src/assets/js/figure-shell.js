// The figure shell: loads a figure's data, fits the figure to the screen (whole, compact or unpinned),
// offers the model switcher, places the figure's tools and notes when the reader has taken over
// from the text.
import { MAX_PANEL_PX, allLoaded, el, loadJSON, panelScale, pinned as pinnedPart, preload, prepareModel, settled, sharpen } from "./frames.js";
import { Provenance } from "./provenance.js";
import { Picker } from "./widgets.js";

// Panel sizes (panelScale): how many panels a figure wants in one row, [on a wide column, on a
// phone], px kept beside them (reserve) and how many small panels share a row (thumbs). A figure's
// kind says so itself (kind.layout); these are the defaults for what it leaves out.
// MAX_PANEL_PX (frames.js): no panel bigger than this, however wide the column.
const PHONE_PX = 480;     // a figure narrower than this is on a phone
// Beside the text the pinned figure may take the viewport's height; stacked above it (phones,
// narrow windows), it leaves at least this share for the text steps scrolling below it.
const STACKED = window.matchMedia("(max-width: 76.25em)");
const TEXT_SHARE = 0.22, TEXT_MIN_PX = 160;
// A pinned figure is never taller than the room the viewport leaves it. To get there, in order:
//  1. whole: every part shown, panels shrunk to no less than 4x beside the text, 3x stacked;
//  2. compact (.nti-compact): the figure's views (its frames; each group of kind.layout.secondary:
//     charts, heatmaps, diagrams) take turns, switched in its head, panels down to 2x; every view
//     must fit;
//  3. not pinned (.nti-unpinned on its section): the whole figure scrolls with its steps.
// Decided from measured heights, per figure and screen, never from a device's name.
const MIN_SCALE_BESIDE = 4, MIN_SCALE_STACKED = 3, MIN_SCALE_COMPACT = 2;
const SLACK_PX = 12;

// The row of the figure's tools at the end of its caption (templates' scrolly macro), where they go
// on stacked layouts; the caption itself for a page built without the row; null without a caption.
export function captionTools(root) {
  const figure = root.closest("figure");
  const caption = figure ? figure.querySelector(":scope > figcaption") : null;
  return caption ? caption.querySelector(":scope > .nti-caption-tools") || caption : null;
}

// A figure's kind: the export named data-kind of the module at data-script (the experiment's figure
// script, fig-*.js: imported on first use, so a page loads the scripts of its own figures only).
async function figureKind(root) {
  const { kind: name, script } = root.dataset;
  if (!script) throw new Error(`figure "${name}" names no script (data-script)`);
  const module = await import(new URL(script, window.location.href).href);
  if (!module[name]) throw new Error(`${script} has no figure "${name}"`);
  return module[name];
}

export async function mount(root) {
  const dataUrl = new URL(root.dataset.src, window.location.href).href;
  const [kind, data] = await Promise.all([figureKind(root), loadJSON(dataUrl)]);
  if (!data.models.length) {
    root.append(el("p", { class: "nti-empty", text: "No run of this experiment yet: run `python -m generate precompute`, then rebuild the site." }));
    return null;
  }
  const extra = kind.extra ? await loadJSON(new URL(kind.extra, dataUrl).href) : null;
  const shell = { root, dataUrl, extra, userControlled: false, cleanups: [] };
  const head = el("div", { class: "nti-figure-head" });
  const card = Provenance();
  let body = el("div", { class: "nti-figure-body" });
  root.replaceChildren(head, body);
  let current = null, model = null, showing = 0, engaged = false;
  let target = null, destroyed = false; // the model being shown or switched to; set at once on a switch

  // Panels at a whole-number scale of the model's resolution: the largest at which the figure's
  // row fits its width and, pinned, the whole figure (every control and chart) fits the viewport.
  // Set as CSS variables on the figure (CSSOM: allowed under style-src 'self'); each canvas's
  // data-scale says its multiple. Re-run when the width or viewport height changes, or the model;
  // and when the content grows past the room (a part that sizes itself later, a longer line of
  // text), shrink then, but never grow back while the reader scrubs: panels do not pulse.
  const section = root.closest(".nti-scrolly");
  let fitted = "", shrinkable = null; // shrinkable: { pinned, room } while a smaller scale is still possible
  function fit(force) {
    if (!model || destroyed) return false;
    const width = root.clientWidth, height = document.documentElement.clientHeight; // not innerHeight: stable while a phone's URL bar slides
    const key = `${width}x${height}:${model.size}:${STACKED.matches}`;
    if ((!force && key === fitted) || width <= 0) return false;
    fitted = key;
    shrinkable = null;
    const layout = Object.assign({ perRow: [3, 3], reserve: 0, thumbs: 0 }, kind.layout);
    const gap = parseFloat(getComputedStyle(root).getPropertyValue("--nti-gap")) || 6;
    const size = model.size;
    let perRow = layout.perRow[width < PHONE_PX ? 1 : 0];
    let widest = panelScale({ width, size, perRow, gap, reserve: layout.reserve, maxPx: MAX_PANEL_PX });
    // small frames never below 2x: where a full row would draw them at 1x (five 32-px panels on a
    // 360-px phone), fewer go in a row and the rest wrap
    while (widest < 2 && perRow > 2 && size <= 64) {
      perRow -= 1;
      widest = panelScale({ width, size, perRow, gap, reserve: layout.reserve, maxPx: MAX_PANEL_PX });
    }
    let scale = widest;
    const thumbFit = layout.thumbs ? panelScale({ width, size, perRow: layout.thumbs, gap, maxPx: MAX_PANEL_PX }) : 0;
    const apply = (s) => {
      // thumbs: half the panels' scale (whole numbers for small frames, a fraction for large ones),
      // but at least 48 CSS px (no larger than the panels): where a row of them is then too wide,
      // it wraps (figures.css)
      const leastThumb = Math.ceil(48 / size);
      const thumb = !layout.thumbs ? s : s >= 2 ? Math.min(s, Math.max(leastThumb, Math.min(Math.floor(s / 2), thumbFit))) : Math.min(s / 2, thumbFit);
      root.style.setProperty("--nti-panel", `${s * size}px`);
      root.style.setProperty("--nti-thumb", `${thumb * size}px`);
      root.dataset.scale = s;
      for (const canvas of root.querySelectorAll(".nti-panel canvas")) canvas.dataset.scale = canvas.closest(".nti-thumb") ? thumb : s;
    };
    compact(false);
    if (section) section.classList.remove("nti-unpinned");
    apply(scale);
    legible();
    const pinned = section ? pinnedPart(root, section) : null;
    if (!pinned) return true;
    const stacked = STACKED.matches;
    const room = height - (parseFloat(getComputedStyle(pinned).top) || 0) - (stacked ? Math.max(TEXT_MIN_PX, Math.round(TEXT_SHARE * height)) : 8);
    const tallest = () => tallestView(pinned); // a synchronous layout per view, a few at most
    // chosen with some slack (a part that sizes itself after mounting may add a few px), so a figure
    // that only just fits is not shown whole and then, a frame later, compact (a layout shift)
    const over = () => tallest() > room - SLACK_PX;
    const least = Math.min(widest, stacked ? MIN_SCALE_STACKED : MIN_SCALE_BESIDE);
    while (scale > least && over()) apply(--scale);
    if (over() && groups().length) {
      compact(true);
      apply(scale = widest);
      while (scale > Math.min(widest, MIN_SCALE_COMPACT) && over()) apply(--scale);
    }
    if (tallest() > room) {
      compact(false);
      section.classList.add("nti-unpinned");
      apply(widest);
    } else shrinkable = { pinned, room, tallest };
    legible();
    markClamped();
    return true;
  }
  // A caption cut to two lines says so ("more", figures.css) and opens by click, Enter or Space.
  function markClamped() {
    if (!caption) return;
    const cut = root.classList.contains("nti-compact") && !caption.classList.contains("nti-caption-open") && caption.scrollHeight > caption.clientHeight + 1;
    const open = caption.classList.contains("nti-caption-open");
    caption.classList.toggle("nti-caption-cut", cut);
    if (cut || open) {
      caption.setAttribute("role", "button");
      caption.tabIndex = 0;
      caption.setAttribute("aria-expanded", String(open));
      caption.title = open ? "Show less of the caption" : "Show the whole caption";
    } else {
      caption.removeAttribute("role");
      caption.removeAttribute("tabindex");
      caption.removeAttribute("aria-expanded");
      caption.removeAttribute("title");
    }
  }
  // Compact form: the figure's views take turns, switched by buttons in the head: its frames (the
  // body's panels, subheads and thumbnails) and each group of secondary parts (kind.layout.secondary,
  // a selector or a list of them, one per view: charts, heatmaps, diagrams); sliders, info and
  // legends stay in every view. The choice is kept while the figure stays compact.
  const groups = () => [].concat(Object.assign({ secondary: [] }, kind.layout).secondary).filter(Boolean);
  const viewNames = () => (kind.layout && kind.layout.views) || ["Frames", ...groups().map((_, i, all) => (all.length > 1 ? `Charts ${i + 1}` : "Charts"))];
  let view = 0, textView = 0; // the view shown; the one the active text step asks for
  const views = el("div", { class: "nti-views", role: "group", "aria-label": "What the figure shows", hidden: true });
  function buildViews() {
    views.replaceChildren(...viewNames().map((name, i) => {
      const button = el("button", { type: "button", class: "nti-button", "aria-pressed": String(i === view), text: name });
      button.addEventListener("click", () => selectView(i));
      return button;
    }));
  }
  // The view to show, clamped to those the figure has; shown at once where the figure is compact.
  function selectView(index) {
    const next = Math.max(0, Math.min(viewNames().length - 1, index));
    if (next === view) return;
    view = next;
    if (root.classList.contains("nti-compact")) { showView(); legible(); }
  }
  function showView() {
    const on = root.classList.contains("nti-compact");
    for (const node of body.querySelectorAll(".nti-secondary, .nti-view-off")) node.classList.remove("nti-secondary", "nti-view-off");
    groups().forEach((selector, i) => {
      for (const node of body.querySelectorAll(selector)) node.classList.add("nti-secondary", ...(on && view !== i + 1 ? ["nti-view-off"] : []));
    });
    if (on && view !== 0) {
      for (const child of body.children) {
        if (!child.classList.contains("nti-secondary") && child.matches(".nti-panels, .nti-subhead, .nti-thumbs")) child.classList.add("nti-view-off");
      }
    }
    Array.from(views.children).forEach((b, i) => b.setAttribute("aria-pressed", String(i === view)));
    // parts that size themselves to their column (the triangle grid) do so now, while it is measured
    for (const part of body.querySelectorAll(".nti-secondary:not(.nti-view-off)")) part.dispatchEvent(new Event("nti-view"));
    settle(on);
  }
  // Compact, the views take turns in one place, and the shown one is topped up (a spacer at the
  // body's end) to the tallest one's height: the pinned figure keeps its height when the text turns
  // to another view, so the text under a stacked figure does not move.
  const spacer = el("div", { class: "nti-view-pad", "aria-hidden": "true" });
  let padTo = 0; // the tallest view's body height, measured by tallestView
  function settle(on) {
    if (body.lastElementChild !== spacer) body.append(spacer);
    spacer.style.height = "0px";
    if (on && padTo) spacer.style.height = `${Math.max(0, padTo - body.offsetHeight)}px`;
  }
  // every view of a compact figure must fit: the tallest is what counts
  function tallestView(pinned) {
    padTo = 0;
    if (!root.classList.contains("nti-compact")) { settle(false); return pinned.offsetHeight; }
    const keep = view;
    let most = 0, tallestBody = 0;
    for (view = 0; view < views.children.length; view++) {
      showView(); legible();
      most = Math.max(most, pinned.offsetHeight);
      tallestBody = Math.max(tallestBody, body.offsetHeight);
    }
    view = keep;
    padTo = tallestBody;
    showView();
    return most;
  }
  function compact(on) {
    const was = root.classList.contains("nti-compact");
    root.classList.toggle("nti-compact", on);
    views.hidden = !on;
    if (on && views.children.length !== viewNames().length) buildViews();
    if (on && !was) view = Math.max(0, Math.min(viewNames().length - 1, textView));
    showView(); // also where it is not compact: the secondary parts are marked either way
    // Beside the text, the caption under a compact figure shows two lines (figures.css); a press
    // opens the rest, over the text below it rather than pushing the figure out of the viewport.
    if (caption && !caption.dataset.clamp) {
      caption.dataset.clamp = "true";
      const toggle = () => { if (root.classList.contains("nti-compact")) { caption.classList.toggle("nti-caption-open"); markClamped(); } };
      caption.addEventListener("click", (event) => { if (!event.target.closest("a, button, summary, select, input")) toggle(); });
      caption.addEventListener("keydown", (event) => {
        if (event.target === caption && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggle(); }
      });
    }
  }
  // Chart text at least 11 CSS px: each SVG chart learns its drawn scale (CSS px per unit of its
  // viewBox), and figures.css keeps its text's size at or above 11 px / that scale.
  function legible() {
    for (const chart of root.querySelectorAll("svg[viewBox]")) {
      const box = chart.viewBox.baseVal, drawn = chart.getBoundingClientRect();
      // drawn letterboxed where its height is capped (compact figures): the smaller of the two ratios
      const k = box && box.width > 0 && box.height > 0 ? Math.min(drawn.width / box.width, drawn.height / box.height) : 0;
      if (k > 0) chart.style.setProperty("--nti-svg-k", k.toFixed(4));
    }
  }
  function grown() {
    if (shrinkable && shrinkable.tallest() > shrinkable.room) fit(true);
  }
  // A figure unpinned because it was too tall may fit once a part sizes itself down (the
  // triangle grid fits its column after it mounts): try again then.
  const resized = () => {
    if (model) sharpen(model); // zoomed in: exact frames where previews no longer suffice
    if (fit(false)) return;
    legible();
    if (section && section.classList.contains("nti-unpinned")) fit(true);
    else grown();
  };
  const observer = "ResizeObserver" in window ? new ResizeObserver(resized) : null;
  if (observer) observer.observe(root);
  window.addEventListener("resize", resized, { passive: true });

  // Once the reader engages (pointer, focus, touch, or the text moving the figure), the rest of the
  // current model's sheets load, nearest the current seed or level first.
  function preloadRest() {
    const loading = model;
    root.dataset.sheets = allLoaded(loading) ? "all" : "loading";
    preload(loading, current.focus ? current.focus() : 0, () => target === loading && !destroyed).then(() => {
      if (loading === model) root.dataset.sheets = "all";
    }, (error) => console.error(error));
  }
  // A pointer may enter before the first view is shown: remember it, and show() starts the preload.
  function engage() {
    if (engaged) return;
    engaged = true;
    if (model) preloadRest();
  }

  // A new model is built off-screen and swapped in once the sheets its first view draws have
  // arrived, so the figure never shows blank panels; other models' sheets load only here.
  async function show(index) {
    const next = prepareModel(data.models[index], dataUrl);
    target = next; // the previous model's preload stops queueing from here on
    const state = current ? current.getState() : null;
    const nextBody = el("div", { class: "nti-figure-body" });
    shell.cleanups.splice(0).forEach((stop) => stop());
    const created = kind.create(nextBody, next, shell);
    if (state) created.setState(state);
    await settled(next);
    if (target !== next) return; // the reader picked yet another model meanwhile
    body.replaceWith(nextBody);
    body = nextBody;
    placeLive(true);
    current = created;
    model = next;
    showing = index;
    root.dataset.model = next.slug;
    // The text's words about a run follow the model on show: every model's version of them is in the
    // page (templates' per_model), and only this model's shows.
    if (section) for (const words of section.querySelectorAll(".nti-per-model")) words.hidden = words.dataset.model !== next.slug;
    root.dataset.ready = "true"; // before fit: the space kept for the figure until now (figures.css) is let go
    fit(true);
    if (note) note.textContent = `${next.channels === 1 ? "greyscale" : "colour"}, ${next.size} px`;
    card.show(next);
    if (engaged) preloadRest();
    else root.dataset.sheets = allLoaded(next) ? "all" : "some";
    root.dispatchEvent(new CustomEvent("nti-shown")); // another model is on screen (share.js notes it)
  }

  // The menu names each model by its label's first word (its name); the rest of the label, colour
  // and size are its tooltip, and colour and size also stand beside the menu where there is room.
  let note = null, modelPicker = null;
  if (data.models.length > 1) {
    const name = (m) => String(m.label || m.slug).split(" (")[0];
    const details = (m) => `${m.label}: ${m.channels === 1 ? "greyscale" : "colour"}, ${m.size} × ${m.size} px (id ${m.id || m.slug})`;
    modelPicker = Picker({ label: "Model", options: data.models.map((m) => ({ text: name(m), title: details(m) })), onChange: show });
    note = el("span", { class: "nti-model-note" });
    head.append(modelPicker.el, note);
  }
  // Hidden by visibility (figures.css), not display: its place is kept, so nothing moves when it shows.
  const follow = el("button", { type: "button", class: "nti-button nti-follow", hidden: true, text: "Follow the text again" });
  follow.addEventListener("click", () => { shell.userControlled = false; follow.hidden = true; });
  head.append(follow, views);
  // The card sits at the end of the head row beside the text; stacked (phones), where the head is
  // pinned and every line of it costs the panels room, it goes under the caption, which scrolls away.
  const caption = root.closest("figure") ? root.closest("figure").querySelector(":scope > figcaption") : null;
  // (into the caption's row of tools, which the page keeps from the start: nothing moves when they arrive)
  const tools = captionTools(root);
  const placeCard = () => { if (STACKED.matches && tools) tools.append(card.el); else head.append(card.el); };
  placeCard();
  STACKED.addEventListener("change", placeCard);
  // The figure's live button (live.js) goes the same way on phones: under the caption, out of the
  // pinned figure it would make too tall to pin; its form then floats over the text below.
  // fresh: a new body (another model) brought its own button, and the old one goes.
  let liveHome = null;
  function placeLive(fresh) {
    const moved = tools ? tools.querySelector(":scope > .nti-live, :scope > .nti-live-off") : null;
    if (fresh && moved) moved.remove();
    const live = fresh || !moved ? body.querySelector(".nti-live, .nti-live-off") : moved;
    if (!live) return;
    if (fresh || !liveHome) liveHome = live.parentNode === tools ? liveHome : live.parentNode;
    if (STACKED.matches && tools) tools.insertBefore(live, card.el.parentNode === tools ? card.el : null);
    else if (liveHome && live.parentNode !== liveHome) liveHome.append(live);
  }
  const placeLiveAgain = () => placeLive(false);
  STACKED.addEventListener("change", placeLiveAgain);
  // Any pointer or key input in the figure body hands control to the reader (until they ask back).
  const takeOver = (event) => {
    if (head.contains(event.target)) return;
    shell.userControlled = true;
    follow.hidden = false;
  };
  root.addEventListener("pointerdown", takeOver, true);
  root.addEventListener("keydown", takeOver, true);
  for (const type of ["pointerenter", "focusin", "touchstart"]) root.addEventListener(type, engage, { passive: true });
  await show(0);
  // The listeners above arrive only once the figure's data has loaded: a pointer or focus already
  // inside it by then sent its pointerenter / focusin to nobody.
  if (root.matches(":hover") || root.contains(document.activeElement)) engage();
  return {
    root,
    engage,
    get userControlled() { return shell.userControlled; },
    setState(state) {
      if (current) current.setState(state);
      // a text step names the view of a compact figure it speaks of (its "view": 0 the frames,
      // 1.. the secondary views in kind.layout.views' order); a step that names none, the frames.
      // Kept for when the figure turns compact later (a refit after the step became active).
      textView = Number.isInteger(state.view) ? state.view : 0;
      if (root.classList.contains("nti-compact")) selectView(textView);
    },
    // the head has its link and download buttons (share.js, downloads.js): fit with them
    refit() { fit(true); },
    // a compact figure's view other than its frames goes into links too (share.js): a link from a
    // phone showing the loop diagram opens on the loop diagram
    getState: () => Object.assign(current ? current.getState() : {},
      root.classList.contains("nti-compact") && view > 0 ? { view } : {}),
    models: data.models.map((m) => m.slug),
    // the experiment's declared state keys and their kinds (share.js), and the compact form's view
    stateKinds: Object.assign({}, data.state || {}, viewNames().length > 1 ? { view: "index" } : {}),
    async select(index) { if (modelPicker) modelPicker.set(index); await show(index); },
    takeOver() { shell.userControlled = true; follow.hidden = false; },
    destroy() {
      destroyed = true;
      shell.cleanups.splice(0).forEach((stop) => stop());
      if (observer) observer.disconnect();
      window.removeEventListener("resize", resized);
      STACKED.removeEventListener("change", placeCard);
      STACKED.removeEventListener("change", placeLiveAgain);
    },
    get model() { return showing; },
    get shown() { return model; }, // the figure data of the model on show (downloads.js)
  };
}
