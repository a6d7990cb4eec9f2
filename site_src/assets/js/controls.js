// Controls shared by the figures (pickers, play/pause, toggles) and the figure shell, which loads
// a figure's data, offers the model switcher, and notes when the reader has taken over from the text.
(function (NTI) {
  "use strict";
  let counter = 0;

  NTI.Picker = function ({ label, options, value, onChange }) {
    const id = `nti-picker-${++counter}`;
    const select = NTI.el("select", { id });
    options.forEach((option, index) => select.append(NTI.el("option", { value: index, text: option })));
    select.value = String(value || 0);
    select.addEventListener("change", () => onChange(Number(select.value)));
    return {
      el: NTI.el("div", { class: "nti-picker" }, [NTI.el("label", { for: id, text: label }), select]),
      select,
      set(index) { select.value = String(index); },
    };
  };

  // The seed picker of every figure with several seeds, appended to its controls; null for one seed.
  NTI.SeedPicker = function (seeds, controls, onChange) {
    if (seeds.length < 2) return null;
    const picker = NTI.Picker({ label: "Seed", options: seeds.map((s) => `seed ${s.seed}`), onChange });
    controls.append(picker.el);
    return picker;
  };

  NTI.Toggle = function ({ label, onChange, className }) {
    const button = NTI.el("button", { type: "button", class: "nti-button " + (className || ""), "aria-pressed": "false", text: label });
    let on = false;
    const set = (next) => { on = next; button.setAttribute("aria-pressed", String(on)); onChange(on); };
    button.addEventListener("click", () => set(!on));
    return { el: button, set, get on() { return on; } };
  };

  // Play/pause: calls tick() every `interval` ms while playing; tick returns false to stop.
  NTI.Player = function ({ tick, interval, shell }) {
    let timer = null;
    const button = NTI.el("button", { type: "button", class: "nti-button nti-play", "aria-pressed": "false", text: "Play" });
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
  };

  // The colour scale of a heatmap: viridis from 0 (dark, no difference) to `max` (bright), as the
  // precompute maps it (generate/frames.py); values past max are drawn at max.
  NTI.ColorBar = function ({ max, label }) {
    const ticks = [0, max / 2, max].map((v) => NTI.el("span", { text: NTI.fmt(v, v >= 10 ? 0 : 1) }));
    return {
      el: NTI.el("div", { class: "nti-colorbar", role: "img", "aria-label": `${label}: colour scale from 0 (dark) to ${NTI.fmt(max, 1)} or more (bright)` }, [
        NTI.el("span", { class: "nti-colorbar-label", text: label }),
        NTI.el("div", { class: "nti-colorbar-ramp" }),
        NTI.el("div", { class: "nti-colorbar-ticks" }, ticks),
      ]),
    };
  };

  // Fractions used by the text's steps (0 = start of a slider, 1 = its end) -> slider values.
  NTI.fromFraction = (fraction, max) => Math.round(Math.min(1, Math.max(0, fraction)) * max);

  NTI.mount = async function (root) {
    const kind = NTI.figures[root.dataset.kind];
    const dataUrl = new URL(root.dataset.src, window.location.href).href;
    const data = await NTI.loadJSON(dataUrl);
    if (!kind || !data.models.length) {
      root.append(NTI.el("p", { class: "nti-empty", text: "No run of this experiment yet: run `python -m generate precompute`, then rebuild the site." }));
      return null;
    }
    const extra = kind.extra ? await NTI.loadJSON(new URL(kind.extra, dataUrl).href) : null;
    const shell = { root, dataUrl, extra, userControlled: false, cleanups: [] };
    const head = NTI.el("div", { class: "nti-figure-head" });
    let body = NTI.el("div", { class: "nti-figure-body" });
    root.replaceChildren(head, body);
    let current = null, model = null, showing = 0, engaged = false;
    let target = null, destroyed = false; // the model being shown or switched to; set at once on a switch

    // Once the reader engages (pointer, focus, touch, or the text moving the figure), the rest of the
    // current model's sheets load, nearest the current seed or level first.
    function preloadRest() {
      const loading = model;
      root.dataset.sheets = NTI.allLoaded(loading) ? "all" : "loading";
      NTI.preload(loading, current.focus ? current.focus() : 0, () => target === loading && !destroyed).then(() => {
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
      const next = NTI.prepareModel(data.models[index], dataUrl);
      target = next; // the previous model's preload stops queueing from here on
      const state = current ? current.getState() : null;
      const nextBody = NTI.el("div", { class: "nti-figure-body" });
      shell.cleanups.splice(0).forEach((stop) => stop());
      const created = kind.create(nextBody, next, shell);
      if (state) created.setState(state);
      await NTI.settled(next);
      if (target !== next) return; // the reader picked yet another model meanwhile
      body.replaceWith(nextBody);
      body = nextBody;
      current = created;
      model = next;
      showing = index;
      root.dataset.model = next.slug;
      root.dataset.ready = "true";
      if (engaged) preloadRest();
      else root.dataset.sheets = NTI.allLoaded(next) ? "all" : "some";
    }

    if (data.models.length > 1) {
      const picker = NTI.Picker({ label: "Model", options: data.models.map((m) => `${m.label} (${m.channels === 1 ? "greyscale" : "colour"}, ${m.size} px)`), onChange: show });
      head.append(picker.el);
    }
    const follow = NTI.el("button", { type: "button", class: "nti-button nti-follow", hidden: true, text: "Follow the text again" });
    follow.addEventListener("click", () => { shell.userControlled = false; follow.hidden = true; });
    head.append(follow);
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
      setState(state) { if (current) current.setState(state); },
      destroy() { destroyed = true; shell.cleanups.splice(0).forEach((stop) => stop()); },
      get model() { return showing; },
    };
  };
})(window.NTI);
