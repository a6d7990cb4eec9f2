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
    const body = NTI.el("div", { class: "nti-figure-body" });
    root.replaceChildren(head, body);
    let current = null;
    let showing = 0;

    async function show(index) {
      const model = await NTI.loadModel(data.models[index], dataUrl); // sheets ready before the swap
      const state = current ? current.getState() : null;
      shell.cleanups.splice(0).forEach((stop) => stop());
      body.replaceChildren();
      current = kind.create(body, model, shell);
      if (state) current.setState(state);
      showing = index;
      root.dataset.model = model.slug;
      root.dataset.ready = "true";
    }

    if (data.models.length > 1) {
      const picker = NTI.Picker({ label: "Model", options: data.models.map((m) => `${m.label} (${m.channels === 1 ? "greyscale" : "colour"}, ${m.size} px)`), onChange: show });
      head.append(picker.el);
    }
    const follow = NTI.el("button", { type: "button", class: "nti-button nti-follow", hidden: true, text: "Follow the text again" });
    follow.addEventListener("click", () => { shell.userControlled = false; follow.hidden = true; });
    head.append(follow);
    // Any pointer or key input inside the figure hands control to the reader (until they ask back).
    const takeOver = (event) => {
      if (event.target === follow || head.contains(event.target) && event.target.tagName === "SELECT") return;
      shell.userControlled = true;
      follow.hidden = false;
    };
    body.addEventListener("pointerdown", takeOver, true);
    body.addEventListener("keydown", takeOver, true);
    await show(0);
    return {
      root,
      get userControlled() { return shell.userControlled; },
      setState(state) { if (current) current.setState(state); },
      destroy() { shell.cleanups.splice(0).forEach((stop) => stop()); },
      get model() { return showing; },
    };
  };
})(window.NTI);
