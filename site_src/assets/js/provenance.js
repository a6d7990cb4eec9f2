// The figure's "How this was made" card (NTI.Provenance), which the figure shell shows for the model on show.
(function (NTI) {
  "use strict";

  // "How this was made": the run behind the figure, for the model on show, from its manifest and
  // run.json (packed by the site build, generate/site/provenance.py: nothing here is typed by hand).
  // A native <details>, so keyboard and screen readers know how to open it; its content floats over
  // the figure (figures.css), so opening it moves nothing and the panels keep their size.
  NTI.Provenance = function () {
    const body = NTI.el("div", { class: "nti-prov-body" });
    const summary = NTI.el("summary", { text: "How this was made" });
    const el = NTI.el("details", { class: "nti-prov" }, [summary, body]);
    el.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && el.open) { el.open = false; summary.focus(); }
    });
    const text = (value) => Array.isArray(value) ? value.join(", ") : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    const row = (term, value) => value === undefined || value === null || value === "" ? []
      : [NTI.el("dt", { text: term }), NTI.el("dd", { text: text(value) })];
    // The body is built only while the card is open (and emptied when it closes): a closed card
    // holds no controls, hidden or not, and opening it always shows the model on show now.
    let shown = null;
    el.addEventListener("toggle", () => { if (el.open && shown) { render(shown); place(); } else body.replaceChildren(); });
    // Opened near the bottom of the screen (on phones the card sits under the caption, which scrolls
    // there), the content would start below the screen: it opens upwards when the room above its row
    // holds it, and otherwise the page scrolls just enough to show it.
    function place() {
      el.classList.remove("nti-prov-up");
      const box = body.getBoundingClientRect(), H = document.documentElement.clientHeight;
      if (box.bottom <= H) return;
      const header = document.querySelector(".md-header");
      const top = header ? header.getBoundingClientRect().bottom : 0;
      const row = body.offsetParent ? body.offsetParent.getBoundingClientRect() : el.getBoundingClientRect();
      if (row.top - top >= box.height) el.classList.add("nti-prov-up");
      else body.scrollIntoView({ block: "nearest" });
    }
    function show(model) {
      shown = model.provenance || null;
      el.hidden = !shown;
      if (!shown) return;
      el.dataset.model = shown.model.slug;
      if (el.open) render(shown);
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
      const parts = [NTI.el("dl", { class: "nti-prov-list" }, rows)];
      if (p.command) {
        const code = NTI.el("code", { text: p.command });
        const copy = NTI.el("button", { type: "button", class: "nti-button nti-prov-copy", text: "Copy" });
        copy.addEventListener("click", () => {
          const selectIt = () => { const range = document.createRange(); range.selectNodeContents(code); const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); };
          const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy"; }, 1500); };
          if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(p.command).then(done, selectIt);
          else selectIt();
        });
        parts.push(NTI.el("p", { class: "nti-prov-label", text: "Make it again:" }),
          NTI.el("div", { class: "nti-prov-command" }, [NTI.el("pre", {}, [code]), copy]));
      } else {
        parts.push(NTI.el("p", { class: "nti-prov-label", text: "The config this run was planned from is not recorded; the settings above are the experiment's section of it." }));
      }
      body.replaceChildren(...parts);
    }
    return { el, show };
  };
})(window.NTI);
