// Downloads of a figure: a "Download" button beside "Copy link" opens a short list of what the view
// on show can be taken away as.
//
//   This frame (PNG)      made here: the frame of the figure's first panel, cut from its exact sprite
//                         sheet at the model's resolution, or upscaled (nearest neighbour) by a whole factor
//   GIF / MP4 / CSV       links to files the site build wrote (generate/site/downloads.py); the figure
//                         data names them and their sizes per state, and nothing fetches them before a click
//
// A disclosure, not an ARIA menu: a real button with aria-expanded, then links and buttons that Tab
// reaches in order; Escape or a click elsewhere closes it, and the list is rebuilt at every opening
// from the state on show (seed, level, noise change) and the model on show.
import { captionTools } from "./figure-shell.js";
import { el } from "./frames.js";
import { fromFraction } from "./widgets.js";

const STACKED = window.matchMedia("(max-width: 76.25em)"); // as figure-shell.js: the figure stacked above the text
const UPSCALED_PX = 256; // the upscaled PNG is at least this wide (a 32-px frame x 8)
let counter = 0;

const kb = (bytes) => bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
export const upscale = (size) => Math.max(2, Math.round(UPSCALED_PX / size));

// The item of an offer for the figure's state: its axes are state keys, pickers (indices) or
// sliders (fractions over `count` positions), combined row-major like the build lists them.
export function offerIndex(offer, state) {
  let index = 0;
  for (const axis of offer.axes) {
    const raw = Number(state[axis.key]) || 0;
    const at = axis.fraction ? fromFraction(raw, axis.count - 1) : Math.round(raw);
    index = index * axis.count + Math.min(axis.count - 1, Math.max(0, at));
  }
  return index;
}

// The frame on the first panel as a PNG blob, `scale` times the model's resolution.
async function framePng(model, canvas, scale) {
  const sheet = model.sheets[Number(canvas.dataset.sheet)], cell = Number(canvas.dataset.cell), size = model.size;
  const image = new Image();
  image.src = new URL(sheet.url, model.dataUrl).href; // the exact sheet, also where a preview is on screen
  await image.decode();
  const out = document.createElement("canvas");
  out.width = out.height = size * scale;
  const context = out.getContext("2d");
  context.imageSmoothingEnabled = false; // each pixel a sharp square
  context.drawImage(image, (cell % sheet.cols) * size, Math.floor(cell / sheet.cols) * size, size, size, 0, 0, size * scale, size * scale);
  return new Promise((resolve, reject) => out.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))), "image/png"));
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function downloads(root, controller) {
  const kind = root.dataset.kind;
  const id = `nti-downloads-${++counter}`;
  const button = el("button", { type: "button", class: "nti-button nti-dl-button", "aria-expanded": "false",
    "aria-controls": id, title: "Download this view: the frame, its animation, its numbers", text: "Download" });
  const list = el("ul", { id, class: "nti-dl-menu", hidden: true, "aria-label": "Downloads" });
  const wrap = el("div", { class: "nti-dl" }, [button, list]);

  function close(focusButton) {
    if (list.hidden) return;
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    list.replaceChildren();
    if (focusButton) button.focus();
  }
  function item(control, detail) {
    if (detail) control.append(el("span", { class: "nti-dl-detail", text: detail }));
    return el("li", {}, [control]);
  }
  function entries() {
    const model = controller.shown, state = controller.getState(), items = [];
    const canvas = root.querySelector(".nti-figure-body .nti-panel:not(.nti-thumb) canvas[data-sheet]");
    if (canvas) {
      const frame = canvas.dataset.frame.replace(/\.png$/, "").replace(/\//g, "_");
      const name = `${model.slug}_${kind}_${frame}`;
      for (const scale of [1, upscale(model.size)]) {
        const px = model.size * scale;
        const png = el("button", { type: "button", class: "nti-dl-item", "data-download": scale === 1 ? "png" : "png-upscaled",
          text: scale === 1 ? `This frame (PNG, ${px} px)` : `This frame (PNG, ${px} px, ×${scale})` });
        png.addEventListener("click", () => {
          framePng(model, canvas, scale).then((blob) => save(blob, `${name}${scale === 1 ? "" : `_x${scale}`}.png`),
            (error) => console.error(error));
          close(true);
        });
        items.push(item(png));
      }
    }
    for (const offer of (model.downloads && model.downloads.offers) || []) {
      const index = offerIndex(offer, state), name = offer.names[index];
      for (const [type, sizes] of Object.entries(offer.bytes)) {
        const link = el("a", { class: "nti-dl-item", href: new URL(`${model.downloads.base}/${name}.${type}`, model.dataUrl).href,
          download: `${name}.${type}`, "data-download": type, text: `${type.toUpperCase()}: ${offer.what}` });
        link.addEventListener("click", () => close(true));
        const frames = offer.frames && offer.frames[type] ? offer.frames[type][index] : null;
        const detail = frames ? `${frames} frame${frames === 1 ? "" : "s"}, ${offer.width} × ${offer.height} px, ${kb(sizes[index])}` : kb(sizes[index]);
        items.push(item(link, detail));
      }
    }
    return items;
  }
  button.addEventListener("click", () => {
    if (!list.hidden) return close(false);
    list.replaceChildren(...entries());
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
  });
  wrap.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !list.hidden) { event.stopPropagation(); close(true); }
  });
  const outside = (event) => { if (!wrap.contains(event.target)) close(false); };
  document.addEventListener("pointerdown", outside, true);
  root.addEventListener("nti-shown", () => close(false)); // another model: its own files

  // Beside "Copy link" in the figure's head; where the figure is stacked above the text (phones,
  // narrow windows) and every line of its pinned head costs the panels room, under the caption,
  // as the provenance card and the live button go (figure-shell.js).
  const head = root.querySelector(".nti-figure-head");
  const follow = head ? head.querySelector(".nti-follow") : null;
  const tools = captionTools(root);
  const place = () => {
    if (STACKED.matches && tools) tools.insertBefore(wrap, tools.querySelector(":scope > .nti-prov"));
    else if (follow) follow.before(wrap);
    else if (head) head.append(wrap);
  };
  place();
  STACKED.addEventListener("change", place);
  return () => {
    document.removeEventListener("pointerdown", outside, true);
    STACKED.removeEventListener("change", place);
    wrap.remove();
  };
}
