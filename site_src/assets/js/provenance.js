// The figure's "How this was made" card (Provenance), which the figure shell shows for the model on show.
import { el } from "./frames.js";

// "How this was made": the run behind the figure, for the model on show, from its manifest and
// run.json (packed by the site build, generate/site/provenance.py: nothing here is typed by hand).
// A native <details>, so keyboard and screen readers know how to open it; its content floats over
// the figure (figures.css), so opening it moves nothing and the panels keep their size.
export function Provenance() {
  const body = el("div", { class: "nti-prov-body" });
  const summary = el("summary", { text: "How this was made" });
  const card = el("details", { class: "nti-prov" }, [summary, body]);
  card.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && card.open) { card.open = false; summary.focus(); }
  });
  const text = (value) => Array.isArray(value) ? (value.length ? value.join(", ") : "[] (all)") : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  const row = (term, value) => value === undefined || value === null || value === "" ? []
    : [el("dt", { text: term }), el("dd", { text: text(value) })];
  // The body is built only while the card is open (and emptied when it closes): a closed card
  // holds no controls, hidden or not, and opening it always shows the model on show now.
  let shown = null;
  card.addEventListener("toggle", () => { if (card.open && shown) { render(shown); place(); } else body.replaceChildren(); });
  // Opened near the bottom of the screen (on phones the card sits under the caption, which scrolls
  // there), the content would start below the screen: it opens upwards when the room above its row
  // holds it, and otherwise the page scrolls just enough to show it.
  function place() {
    card.classList.remove("nti-prov-up");
    const box = body.getBoundingClientRect(), H = document.documentElement.clientHeight;
    if (box.bottom <= H) return;
    const header = document.querySelector(".md-header");
    const top = header ? header.getBoundingClientRect().bottom : 0;
    const line = body.offsetParent ? body.offsetParent.getBoundingClientRect() : card.getBoundingClientRect();
    if (line.top - top >= box.height) card.classList.add("nti-prov-up");
    else body.scrollIntoView({ block: "nearest" });
  }
  function show(model) {
    shown = model.provenance || null;
    card.hidden = !shown;
    if (!shown) return;
    card.dataset.model = shown.model.slug;
    if (card.open) render(shown);
  }
  function render(p) {
    const m = p.model, s = p.scheduler, env = p.environment || {};
    const identity = [m.id && m.id !== m.slug ? m.id : null, m.source ? `(${m.source})` : null].filter(Boolean).join(" ");
    const rows = [
      ...row("Model", `${m.slug}${identity ? ` · ${identity}` : ""}`),
      ...row("Hub revision", m.revision ? `${m.revision}${m.commit ? ` (commit ${String(m.commit).slice(0, 12)})` : ""}` : null),
      ...row("Weights sha256", m.weights_sha256 ? `${m.weights_sha256}…` : null),
      // the scheduler's settings the build chose to show (provenance.py SCHEDULER_KEYS), in its order
      ...row("Scheduler", [s.class, ...Object.entries(s).filter(([k]) => k !== "class").map(([k, v]) => `${k} = ${v}`)].join(" · ")),
      ...Object.keys(p.config || {}).sort().flatMap((k) => row(`${p.experiment}.${k}`, p.config[k])),
      ...row("Libraries", ["torch", "diffusers"].filter((k) => env[k]).map((k) => `${k} ${env[k]}`).join(", ")),
      ...row("Device", [env.device, env.dtype].filter(Boolean).join(", ")),
      ...row("Finished", p.finished ? p.finished.replace("T", " ").replace("Z", " UTC") : null),
      ...row("Run", p.run_key),
    ];
    const parts = [el("dl", { class: "nti-prov-list" }, rows)];
    if (p.command) {
      const code = el("code", { text: p.command });
      const copy = el("button", { type: "button", class: "nti-button nti-prov-copy", text: "Copy" });
      copy.addEventListener("click", () => {
        const selectIt = () => { const range = document.createRange(); range.selectNodeContents(code); const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); };
        const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(p.command).then(done, selectIt);
        else selectIt();
      });
      parts.push(el("p", { class: "nti-prov-label", text: "Make it again:" }),
        el("div", { class: "nti-prov-command" }, [el("pre", {}, [code]), copy]));
    } else {
      parts.push(el("p", { class: "nti-prov-label", text: "The config this run was planned from is not recorded; the settings above are the experiment's section of it." }));
    }
    body.replaceChildren(...parts);
  }
  return { el: card, show };
}
